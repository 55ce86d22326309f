"""Daemon configuration: one schema per daemon validates the YAML and documents the sample."""

from cardshop.config.load import ConfigError, load_config, read_secret

__all__ = ["ConfigError", "load_config", "read_secret"]
