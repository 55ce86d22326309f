"""Schema of /etc/cardshop/beat.yaml (the beat: periodic jobs; run exactly one)."""

from cardshop.config.common import BROKER, DATABASE, LOGGING

DEFAULT_PATH = "/etc/cardshop/beat.yaml"

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "database": DATABASE,
        "broker": {**BROKER, "description": "RabbitMQ, as the system user."},
        "logging": LOGGING,
    },
}
