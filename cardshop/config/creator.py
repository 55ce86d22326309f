"""Schema of /etc/cardshop/creator.yaml (the image creator, a Celery worker on `create`)."""

from cardshop.config.common import BROKER, LOGGING, scheduler_section, warehouse_client_section

DEFAULT_PATH = "/etc/cardshop/creator.yaml"

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "broker": {**BROKER, "description": "RabbitMQ, as this creator's user (role creator)."},
        "scheduler": scheduler_section("The scheduler, asked only for warehouse tokens (same user and password as the broker)."),
        "creator": {
            "type": "object",
            "description": "How images are built.",
            "additionalProperties": False,
            "properties": {
                "concurrency": {"type": "integer", "minimum": 1, "maximum": 64, "default": 1,
                                "description": "Images built at once."},
                "cache_dir": {"type": "string", "default": "/var/lib/cardshop/creator/cache",
                              "description": "The shared download cache."},
                "cache_max_bytes": {"type": "integer", "minimum": 0, "default": 107374182400,
                                    "description": "Largest size of the cache; least recently used entries go first."},
                "build_dir": {"type": "string", "default": "/var/lib/cardshop/creator/build",
                              "description": "Where images are built (same file system as the cache: files are hard-linked)."},
                "disk_margin_bytes": {"type": "integer", "minimum": 0, "default": 2147483648,
                                      "description": "Free space kept on the cache and build disks."},
                "zstd_threads": {"type": "integer", "minimum": 0, "default": 0,
                                 "description": "zstd compression threads; 0 uses every core."},
                "download_timeout": {"type": "integer", "minimum": 1, "default": 60,
                                     "description": "Seconds without data before a download is retried."},
                "fetch_allow": {
                    "type": "array", "default": [],
                    "examples": [[{"network": "10.20.0.0/16"}, {"network": "127.0.0.1", "port": 8800}]],
                    "description": "Loopback, private, link-local or other non-public addresses recipe URLs may "
                                   "lead to (public ones always may; all others are refused, redirects included). "
                                   "Each entry: {network: 10.20.0.0/16} or {network: 127.0.0.1, port: 8800}.",
                    "items": {
                        "type": "object", "additionalProperties": False, "required": ["network"],
                        "properties": {
                            "network": {"type": "string",
                                        "description": "An address or network (CIDR), IPv4 or IPv6."},
                            "port": {"type": "integer", "minimum": 1, "maximum": 65535,
                                     "description": "Only this port (every port when absent)."},
                        },
                    },
                },
                "retry_window": {"type": "integer", "minimum": 0, "default": 600,
                                 "description": "Seconds a task keeps retrying an unreachable warehouse, content "
                                                "server or scheduler (exponential back-off) before it fails."},
            },
        },
        "warehouse": warehouse_client_section("Uploading to the warehouse."),
        "logging": LOGGING,
    },
}
