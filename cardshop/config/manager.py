"""Schema of /etc/cardshop/manager.yaml (the manager web UI)."""

from cardshop.config.common import LOGGING, SCHEDULER_CLIENT, trusted_proxies

DEFAULT_PATH = "/etc/cardshop/manager.yaml"

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "http": {
            "type": "object",
            "description": "The web listener: plain HTTP on loopback only, behind a TLS front (nginx) for browsers elsewhere.",
            "additionalProperties": False,
            "properties": {
                "listen": {"type": "string", "default": "127.0.0.1", "description": "Address to listen on."},
                "port": {"type": "integer", "minimum": 1, "maximum": 65535, "default": 8090,
                         "description": "Port to listen on."},
                "threads": {"type": "integer", "minimum": 1, "maximum": 64, "default": 8,
                            "description": "Requests served at once."},
                "secure_cookies": {"type": "boolean", "default": False,
                                   "description": "Mark every cookie Secure. Without it cookies are Secure "
                                                  "whenever a trusted proxy (trusted_proxies) says the browser "
                                                  "came over https (X-Forwarded-Proto: https), as the fleet's "
                                                  "TLS front does; set it when a front cannot say so."},
                "trusted_proxies": trusted_proxies(
                    "Proxies in front (addresses or CIDR networks) whose X-Forwarded-For the manager "
                    "believes: the browser is its right-most address that is not one of them. From any other "
                    "peer the header is ignored and the browser is the peer. The browser's address is what "
                    "login limits here and in the API count against."),
            },
        },
        "scheduler": {
            "type": "object",
            "description": "The scheduler API; every call is made with the logged-in user's own tokens.",
            "additionalProperties": False,
            "properties": {
                **SCHEDULER_CLIENT,
                "timeout": {"type": "integer", "minimum": 1, "maximum": 120, "default": 15,
                            "description": "Seconds to wait for an API answer."},
            },
        },
        "session": {
            "type": "object",
            "description": "Browser sessions (kept in memory: a restart logs everyone out).",
            "additionalProperties": False,
            "properties": {
                "secret_file": {"type": "string", "default": "/etc/cardshop/secrets/manager-session.key",
                                "description": "File holding the key (32+ characters) that signs session "
                                               "cookies and CSRF tokens."},
                "idle_minutes": {"type": "integer", "minimum": 1, "maximum": 43200, "default": 480,
                                 "description": "A session unused this long ends."},
            },
        },
        "logging": LOGGING,
    },
}
