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
                                   "reconcile, republish, token purge, notifications) skip their runs until the "
                                   "clocks agree."},
            },
        },
        "mail": {
            "type": "object",
            "x-optional-section": True,
            "description": "E-mail notifications (docs/operations/notifications.md), sent by the beat's "
                           "send-notifications job. Without smtp_host no mail is sent.",
            "additionalProperties": False,
            "required": ["smtp_host"],
            "properties": {
                "smtp_host": {"type": "string", "minLength": 1, "examples": ["localhost"],
                              "description": "The SMTP server: localhost for the host's own MTA, or a relay."},
                "smtp_port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 25,
                              "description": "Its port (25 for an MTA, 587 for a relay's submission port)."},
                "starttls": {"type": ["boolean", "null"], "default": None,
                             "description": "Whether to upgrade the session with STARTTLS: null means yes "
                                            "unless smtp_host is loopback. Plain SMTP with a username is "
                                            "refused off loopback."},
                "ca_file": {"type": "string", "examples": ["/etc/cardshop/ca.crt"],
                            "description": "CA bundle the relay's certificate must chain to; the system's "
                                           "bundle when absent."},
                "username": {"type": "string", "minLength": 1,
                             "description": "Login at the relay; none when absent (an MTA that relays for "
                                            "this host)."},
                "password_file": {"type": "string", "examples": ["/etc/cardshop/secrets/smtp-password"],
                                  "description": "File holding the relay's password (0640 or tighter); "
                                                 "required with username."},
                "from": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$", "default": "cardshop@localhost",
                         "description": "The sender address of every notification."},
                "manager_url": {"type": "string", "pattern": "^https?://",
                                "examples": ["https://cardshop.example.org"],
                                "description": "The manager's URL, for the links in operators' mails; mails "
                                               "carry no links without it."},
                "timeout": {"type": "integer", "minimum": 1, "maximum": 300, "default": 30,
                            "description": "Seconds one SMTP step may take."},
            },
        },
        "logging": LOGGING,
    },
}
