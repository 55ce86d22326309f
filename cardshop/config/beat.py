"""Schema of /etc/cardshop/beat.yaml (the beat: periodic jobs; run exactly one)."""

from cardshop.config.common import BROKER, database_section, LOGGING, scheduler_section, warehouse_client_section

DEFAULT_PATH = "/etc/cardshop/beat.yaml"

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "database": database_section("beat"),
        "broker": {**BROKER, "description": "RabbitMQ, as the system user."},
        "scheduler": scheduler_section(
            "The scheduler, asked for the system user's warehouse tokens (same password as the broker)."),
        "warehouse": warehouse_client_section("Deleting images from the warehouse."),
        "beat": {
            "type": "object",
            "description": "The beat's own settings.",
            "additionalProperties": False,
            "properties": {
                "max_clock_skew": {
                    "type": "integer", "minimum": 1, "maximum": 3600, "default": 30,
                    "description": "Seconds this host's clock may differ from the database server's. The beat "
                                   "times everything by the server's clock; beyond this bound it logs an error, "
                                   "says so in its systemd status and the scheduler's /health, and its "
                                   "time-based jobs (time-outs, offline writer hosts, expiries, retries, "
                                   "reconcile, republish, token purge) skip their runs until the clocks agree."},
            },
        },
        "logging": LOGGING,
    },
}
