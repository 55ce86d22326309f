"""The order's life.

    created -> creating -> pending_writer -> writing -> pending_shipment -> shipped
                       \\-> ready -> expired                     (download orders)

An order of an image that is already made (another order's, or an auto-image's latest build) skips the
making: created -> pending_writer (physical) or created -> ready (download).

creation_failed and write_failed end the order until an admin retries;
canceled, shipped and expired end it for good.
"""

from cardshop.states.machine import Machine

_LIVE = ["created", "creating", "pending_writer", "writing", "pending_shipment", "ready"]

_TRANSITIONS = {
    ("created", "create_started"): "creating",
    ("creating", "create_done_physical"): "pending_writer",
    ("creating", "create_done_download"): "ready",
    ("created", "image_reused_physical"): "pending_writer",
    ("created", "image_reused_download"): "ready",
    ("created", "create_failed"): "creation_failed",
    ("creating", "create_failed"): "creation_failed",
    ("pending_writer", "write_started"): "writing",
    ("writing", "writes_done"): "pending_shipment",
    ("pending_writer", "write_failed"): "write_failed",
    ("writing", "write_failed"): "write_failed",
    # The beat moved queued write tasks to another writer host: recorded, status unchanged.
    ("pending_writer", "writer_moved"): "pending_writer",
    ("writing", "writer_moved"): "writing",
    ("pending_shipment", "ship"): "shipped",
    ("ready", "expire"): "expired",
    # An admin retries the failed step.
    ("creation_failed", "retry"): "created",
    ("write_failed", "retry"): "pending_writer",
    ("creation_failed", "cancel"): "canceled",
    ("write_failed", "cancel"): "canceled",
    **{(status, "cancel"): "canceled" for status in _LIVE},
}

ORDER = Machine(
    "order",
    initial="created",
    transitions=_TRANSITIONS,
    final={"shipped", "expired", "canceled"},
    failed={"creation_failed", "write_failed"},
)

# The statuses as people read them, in the order an order lives them: a physical order's road, a
# download's, then the failures and the cancel (lists, filters and counts follow this order).
LABELS = {
    "created": "placed",
    "creating": "making the image",
    "pending_writer": "waiting for a writer",
    "writing": "writing cards",
    "pending_shipment": "to ship",
    "shipped": "shipped",
    "ready": "ready to download",
    "expired": "expired",
    "creation_failed": "image failed",
    "write_failed": "writing failed",
    "canceled": "canceled",
}
WORKFLOW = tuple(LABELS)
