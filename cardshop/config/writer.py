"""Schema of /etc/cardshop/writer.yaml (a writer host: one writer@<slot> per card-reader slot).

Every slot of the host reads this one file; `--slot N` picks the slot's entry
in the slots file (written by cardshop-writer-helper identify, see SLOTS_SCHEMA).
"""

from cardshop.config.common import BROKER, LOGGING, scheduler_section, warehouse_client_section

DEFAULT_PATH = "/etc/cardshop/writer.yaml"
DEFAULT_RUNTIME_DIR = "/run/cardshop"  # writer@.service's RuntimeDirectory=cardshop/slot-%i is under it

SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "broker": {**BROKER, "description": "RabbitMQ, as this host's writer user (role writer); all slots share it."},
        "scheduler": scheduler_section("The scheduler, asked only for warehouse tokens (same user and password as "
                                       "the broker)."),
        "writer": {
            "type": "object",
            "description": "How this host's slots write cards.",
            "additionalProperties": False,
            "properties": {
                "slots_file": {"type": "string", "default": "/etc/cardshop/slots.yaml",
                               "description": "Slot number -> card reader, as cardshop-writer-helper identify "
                                              "wrote it."},
                "cache_dir": {"type": "string", "default": "/var/lib/cardshop/images",
                              "description": "The host's image cache, shared by its slots (decompressed, sparse)."},
                "runtime_dir": {"type": "string", "default": DEFAULT_RUNTIME_DIR,
                                "description": "Each slot's state for cardshop-writer-helper (status --json, "
                                               "drain) goes to <runtime_dir>/slot-<N>/: writer@N's "
                                               "RuntimeDirectory under systemd."},
                "cache_max_bytes": {"type": "integer", "minimum": 0, "default": 107374182400,
                                    "description": "Largest size of the image cache; least recently used images "
                                                   "not in use go first."},
                "capacity_check": {"type": "boolean", "default": True,
                                   "description": "Write and read back markers across a new card to refuse cards "
                                                  "that lie about their size."},
                "retry_window": {"type": "integer", "minimum": 0, "default": 600,
                                 "description": "Seconds a task keeps retrying an unreachable warehouse or "
                                                "scheduler (exponential back-off) before it fails."},
                "http_proxy": {"type": "string", "pattern": "^https?://", "examples": ["http://proxy.example:3128"],
                               "description": "Proxy for the scheduler API (none when absent)."},
            },
        },
        "warehouse": warehouse_client_section(
            "Downloading images from the warehouse.",
            url={"type": "string", "pattern": "^ftps?://", "examples": ["ftps://warehouse.example:990/"],
                 "description": "The warehouse this host downloads from (its download URL), for "
                                "cardshop-writer-helper check and network to log into; each task names its own."}),
        "logging": LOGGING,
    },
}

# /etc/cardshop/slots.yaml, written by cardshop-writer-helper identify.
SLOTS_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["slots"],
    "properties": {
        "slots": {
            "type": "array", "maxItems": 64,
            "items": {
                "type": "object", "additionalProperties": False, "required": ["slot", "match", "device"],
                "properties": {
                    "slot": {"type": "integer", "minimum": 1, "maximum": 64,
                             "description": "The slot's number (writer@<slot>)."},
                    "match": {"type": "object", "minProperties": 1, "maxProperties": 4,
                              "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 500},
                              "description": "udev properties that single out the reader: {ID_PATH: ...} for "
                                             "a real reader, {DEVNAME: /dev/loopN} for a loop device."},
                    "device": {"type": "string", "pattern": "^/dev/",
                               "description": "The block device to open (/dev/cardshop/slot-N via the udev rule, "
                                              "or the loop device)."},
                    "label": {"type": "string", "maxLength": 200,
                              "description": "What the operator calls the slot (the reader's vendor and model)."},
                },
            },
        },
    },
}
