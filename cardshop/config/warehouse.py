"""Schema of /etc/cardshop/warehouse.yaml (the FTP(S) warehouse daemon)."""

from cardshop.config.common import LOGGING, SCHEDULER_CLIENT

DEFAULT_PATH = "/etc/cardshop/warehouse.yaml"

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "ftp": {
            "type": "object",
            "description": "The FTP(S) listener.",
            "additionalProperties": False,
            "properties": {
                "listen": {"type": "string", "default": "127.0.0.1",
                           "description": "Address to listen on; anything but loopback needs tls."},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 2121,
                         "description": "Control port."},
                "passive_ports": {"type": "array", "items": {"type": "integer", "minimum": 1024, "maximum": 65535},
                                  "minItems": 2, "maxItems": 2, "examples": [[30000, 30099]],
                                  "description": "First and last port for passive data connections (open them in the firewall)."},
                "masquerade_address": {"type": "string", "examples": ["203.0.113.7"],
                                       "description": "Address announced for passive connections, behind NAT."},
                "idle_timeout": {"type": "integer", "minimum": 10, "default": 300,
                                 "description": "Seconds an idle control connection is kept once logged in."},
                "login_timeout": {"type": "integer", "minimum": 2, "maximum": 120, "default": 10,
                                  "description": "Seconds a connection has from its connect to log in (in all; "
                                                 "commands do not extend it), not counting the scheduler's "
                                                 "check of its password; then it is closed (with a 421, unless "
                                                 "it is in TLS already)."},
                "max_connections": {"type": "integer", "minimum": 2, "default": 256,
                                    "description": "Connections at once."},
                "max_connections_per_ip": {"type": "integer", "minimum": 1, "default": 32,
                                           "description": "Connections at once from one address."},
                "max_logging_in": {"type": "integer", "minimum": 1, "default": 64,
                                   "description": "Connections at once that have not logged in yet (below "
                                                  "max_connections, so that logged-in sessions keep room). A new "
                                                  "connection beyond it closes the oldest waiting connection of "
                                                  "the address with the most waiting (421): idle connections "
                                                  "cannot hold the warehouse shut."},
                "max_logging_in_per_ip": {"type": "integer", "minimum": 1, "default": 8,
                                          "description": "Connections at once from one address that have not "
                                                         "logged in yet; a new one beyond it closes that "
                                                         "address's oldest (421)."},
            },
        },
        "storage": {
            "type": "object",
            "description": "Where images are kept.",
            "additionalProperties": False,
            "properties": {
                "root": {"type": "string", "default": "/var/lib/cardshop/warehouse",
                         "description": "The warehouse root; nothing outside it is reachable."},
                "reserve_bytes": {"type": "integer", "minimum": 0, "default": 1073741824,
                                  "description": "Free space always kept; uploads that would eat into it are refused."},
            },
        },
        "scheduler": {
            "type": "object",
            "description": "The scheduler API, which says whose token is whose.",
            "additionalProperties": False,
            "properties": {
                **SCHEDULER_CLIENT,
                "timeout": {"type": "integer", "minimum": 1, "maximum": 60, "default": 5,
                            "description": "Seconds to wait for it to validate a login."},
                "cache_seconds": {"type": "integer", "minimum": 0, "maximum": 30, "default": 30,
                                  "description": "How long a validated token is trusted without asking again: "
                                                 "a disabled user or an ended task keeps write rights at most "
                                                 "this long, and sessions keep working this long while the "
                                                 "scheduler is unreachable (new logins then get 421 try later)."},
            },
        },
        "tls": {
            "type": "object",
            "x-optional-section": True,
            "description": "FTPS (explicit TLS, required on control and data connections).",
            "additionalProperties": False,
            "required": ["cert_file", "key_file"],
            "properties": {
                "cert_file": {"type": "string", "examples": ["/etc/cardshop/secrets/warehouse.crt"],
                              "description": "Certificate chain (PEM)."},
                "key_file": {"type": "string", "examples": ["/etc/cardshop/secrets/warehouse.key"],
                             "description": "Private key (PEM)."},
            },
        },
        "logging": LOGGING,
    },
}
