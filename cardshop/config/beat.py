"""Schema of /etc/cardshop/beat.yaml (the beat: periodic jobs; run exactly one)."""

from cardshop.config.common import BROKER, DATABASE, LOGGING

DEFAULT_PATH = "/etc/cardshop/beat.yaml"

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "database": DATABASE,
        "broker": {**BROKER, "description": "RabbitMQ, as the system user."},
        "scheduler": {
            "type": "object",
            "description": "The scheduler, asked for the system user's warehouse tokens (same password as the broker).",
            "additionalProperties": False,
            "properties": {
                "api_url": {"type": "string", "pattern": "^https?://", "default": "http://127.0.0.1:8080",
                            "description": "The scheduler API's URL."},
            },
        },
        "warehouse": {
            "type": "object",
            "description": "Deleting images from the warehouse.",
            "additionalProperties": False,
            "properties": {
                "ca_file": {"type": "string", "examples": ["/etc/ssl/certs/ca-certificates.crt"],
                            "description": "CA bundle to check an FTPS warehouse's certificate."},
            },
        },
        "logging": LOGGING,
    },
}
