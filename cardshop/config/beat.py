"""Schema of /etc/cardshop/beat.yaml (the beat: periodic jobs; run exactly one)."""

from cardshop.config.common import BROKER, DATABASE, LOGGING, scheduler_section, warehouse_client_section

DEFAULT_PATH = "/etc/cardshop/beat.yaml"

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "database": DATABASE,
        "broker": {**BROKER, "description": "RabbitMQ, as the system user."},
        "scheduler": scheduler_section(
            "The scheduler, asked for the system user's warehouse tokens (same password as the broker)."),
        "warehouse": warehouse_client_section("Deleting images from the warehouse."),
        "logging": LOGGING,
    },
}
