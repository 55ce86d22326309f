"""Cardshop: produce SD cards at scale."""

__version__ = "0.1.0"
