"""Config sections shared by several daemons."""

USERNAME = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{1,31}$"}

def database_section(daemon):
    """The database section of `daemon`'s config: its own credentials, from its own secret file."""
    return {
        "type": "object",
        "description": "The MongoDB-compatible database (MongoDB >= 6 or FerretDB 2 on PostgreSQL with DocumentDB).",
        "additionalProperties": False,
        "properties": {
            "uri": {"type": "string", "pattern": "^mongodb(\\+srv)?://",
                    "default": "mongodb://127.0.0.1:27017/",
                    "description": "Connection URI without a password; use uri_file for one with a password."},
            "uri_file": {"type": "string", "examples": [f"/etc/cardshop/secrets/database-{daemon}.uri"],
                         "description": f"File holding the URI (with password); overrides uri. "
                                        f"cardshop-database-setup writes the {daemon}'s, for its own database "
                                        f"role, on the database host."},
            "name": {"type": "string", "pattern": "^[A-Za-z0-9_-]+$", "default": "cardshop",
                     "description": "Database name."},
            "timeout": {"type": "integer", "minimum": 1, "default": 5,
                        "description": "Seconds to wait to find and connect to the database before an "
                                       "operation fails as unavailable."},
            "call_timeout": {"type": "number", "minimum": 0.1, "maximum": 600, "default": 10,
                             "description": "Seconds one database call (a query, an update, a page of "
                                            "results) may take before it fails as slow; the API answers "
                                            "504 then, not 503."},
        },
    }


BROKER = {
    "type": "object",
    "description": "RabbitMQ, where tasks and reports travel.",
    "additionalProperties": False,
    "properties": {
        "url": {"type": "string", "pattern": "^amqps?://[^/@\\s]+/[A-Za-z0-9_-]+$",
                "default": "amqp://127.0.0.1:5672/cardshop",
                "x-hint": "must look like amqps://host:port/vhost (no credentials in it)",
                "description": "Broker URL without credentials; amqps:// (TLS) unless on loopback."},
        "username": {**USERNAME, "default": "cardshop-system",
                     "description": "This daemon's Cardshop user (the broker asks the scheduler)."},
        "password_file": {"type": "string", "default": "/etc/cardshop/secrets/broker.password",
                          "description": "File holding that user's password."},
        "ca_file": {"type": "string", "examples": ["/etc/ssl/certs/ca-certificates.crt"],
                    "description": "CA bundle to check the broker's certificate (amqps://)."},
        "heartbeat": {"type": "integer", "minimum": 5, "maximum": 600, "default": 30,
                      "description": "AMQP heartbeat, in seconds: a dead link is noticed within twice this."},
    },
}


def trusted_proxies(description):
    """A list of peers (addresses or CIDR networks) whose forwarding header is believed; none by default.
    cardshop.config.rules checks each entry."""
    return {"type": "array", "items": {"type": "string", "minLength": 1}, "default": [],
            "examples": [["127.0.0.1"]], "description": description}


LOGGING = {
    "type": "object",
    "description": "Logging (to stderr, which systemd sends to the journal).",
    "additionalProperties": False,
    "properties": {
        "level": {"enum": ["debug", "info", "warning", "error"], "default": "info",
                  "description": "Least severe level logged."},
    },
}

SCHEDULER_API_URL = {"type": "string", "pattern": "^https?://", "default": "http://127.0.0.1:8080",
                     "description": "The scheduler API's URL: https:// (its TLS front) unless on loopback."}
SCHEDULER_CA_FILE = {"type": "string", "examples": ["/etc/cardshop/ca.crt"],
                     "description": "CA bundle the https:// API's certificate must chain to (the fleet's CA); "
                                    "the system's bundle when absent."}
SCHEDULER_CLIENT = {"api_url": SCHEDULER_API_URL, "ca_file": SCHEDULER_CA_FILE}


def scheduler_section(description):
    """For workers that ask the scheduler only for warehouse tokens."""
    return {"type": "object", "description": description, "additionalProperties": False,
            "properties": SCHEDULER_CLIENT}


def warehouse_client_section(description, **more):
    """For daemons that log into the warehouse; `more`: keys of that daemon's only."""
    return {"type": "object", "description": description, "additionalProperties": False,
            "properties": {"ca_file": {"type": "string", "examples": ["/etc/ssl/certs/ca-certificates.crt"],
                                       "description": "CA bundle to check an FTPS warehouse's certificate."},
                           **more}}
