"""The scheduler's HTTP API: JSON over Bottle, served by Waitress."""
