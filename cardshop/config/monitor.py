"""Schema of /etc/cardshop/monitor.yaml (the monitor daemon)."""

from cardshop.config.common import BROKER, database_section, LOGGING, scheduler_section, warehouse_client_section

DEFAULT_PATH = "/etc/cardshop/monitor.yaml"

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "database": database_section("monitor"),
        "broker": {**BROKER, "description": "RabbitMQ, as the system user (it declares the queues)."},
        "scheduler": scheduler_section(
            "The scheduler, asked for the system user's warehouse tokens (same password as the broker)."),
        "warehouse": warehouse_client_section("Checking that the images creators report are in the warehouse."),
        "monitor": {
            "type": "object",
            "description": "How the monitor works.",
            "additionalProperties": False,
            "properties": {
                "prefetch": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 20,
                             "description": "Reports taken from RabbitMQ ahead of their database writes, "
                                            "per worker account (each account's queue is served in turn)."},
                "report_lanes": {"type": "integer", "minimum": 1, "maximum": 64, "default": 4,
                                 "description": "Threads applying reports: a task's reports in the order they "
                                                "came, different tasks' side by side."},
                "writer_timeout": {"type": "integer", "minimum": 5, "default": 90,
                                   "description": "Seconds after its last heartbeat that a writer host "
                                                  "still counts as live when write tasks are placed (the "
                                                  "monitor files it as the worker's `live_until`, which "
                                                  "the beat and the API read too)."},
                "max_hosts_per_account": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 32,
                                          "description": "Worker records (hosts) one creator account may have; "
                                                         "a heartbeat from one more host is refused until "
                                                         "records expire (the beat's expire_workers). A writer's "
                                                         "records are bounded by its registered slots."},
                "max_card_rate": {"type": "integer", "minimum": 1000000, "default": 400000000,
                                  "description": "Bytes per second no card reader beats, writing or reading back: "
                                                 "a card reported written faster (its mapped bytes twice since "
                                                 "the claim) is refused as impossible."},
            },
        },
        "logging": LOGGING,
    },
}
