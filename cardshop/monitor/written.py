"""A write task's `written` counts only with a result that matches its order.

The writer host that holds the task (the monitor checked the sender) reports
what it wrote: its host and slot, the image's name, checksum and size, the
bytes it mapped and read back, and the card. The monitor believes none of it
blindly: the result must be well-formed, name a slot of the sender's that has
sent heartbeats, name the order's image with its checksum and size, have read
back every mapped byte, and fit the card. The same card (by serial, when the
reader gives one) counts once per order.
"""

import logging

from cardshop.domain.placement import image_name
from cardshop.pipeline.heartbeat import CARD_SCHEMA, MAX_SLOTS
from cardshop.store import orders, workers
from cardshop.store.commits import claim, claimed
from cardshop.validation import Validator

log = logging.getLogger(__name__)

_BYTES = {"type": "integer", "minimum": 1, "maximum": 2 ** 50}
RESULT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["host", "slot", "image", "sha256", "image_size", "mapped_bytes", "verified_bytes", "card"],
    "properties": {
        "host": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,200}$", "x-hint": "must be a host name"},
        "slot": {"type": "integer", "minimum": 1, "maximum": MAX_SLOTS},
        "image": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,255}$", "x-hint": "must be an image name"},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$", "x-hint": "must be 64 lowercase hex digits"},
        "image_size": _BYTES, "mapped_bytes": _BYTES, "verified_bytes": _BYTES,
        "card": {**CARD_SCHEMA, "properties": {**CARD_SCHEMA["properties"], "size": _BYTES}},
    },
}
_VALIDATOR = Validator(RESULT_SCHEMA, noun="result field")


def written_problem(db, task, result, sender):
    """None when the `written` result holds; else why not (one line)."""
    error = _VALIDATOR.first_error(result)
    if error:
        return error
    order = orders.find(db, task["order"], {"image": 1, "auto_image": 1})
    if order is None:
        return "the task's order is gone"
    worker = f"{sender}@{result['host']}.slot-{result['slot']}"
    if not isinstance((workers.find(db, worker, {"slot": 1}) or {}).get("slot"), dict):
        return f"slot {result['slot']} of host {result['host']!r} is not a slot of {sender}"
    image = order.get("image") if isinstance(order.get("image"), dict) else {}
    expected = image_name(order)
    if result["image"] != expected:
        return f"wrote image {result['image']!r}, not the order's {expected!r}"
    if result["sha256"] != image.get("sha256"):
        return "the image's sha256 is not the order's"
    if result["image_size"] != image.get("image_size"):
        return f"an image of {result['image_size']} bytes, not the order's {image.get('image_size')}"
    if result["verified_bytes"] != result["mapped_bytes"]:
        return f"verified {result['verified_bytes']} of {result['mapped_bytes']} mapped bytes"
    if result["mapped_bytes"] > result["image_size"]:
        return f"{result['mapped_bytes']} mapped bytes in an image of {result['image_size']}"
    if result["card"]["size"] < result["image_size"]:
        return f"a card of {result['card']['size']} bytes cannot hold an image of {result['image_size']}"
    serial = result["card"].get("serial")
    if serial:
        key = f"orders/{task['order']}/cards/{serial}"
        if not claim(db, key, {"task": task["_id"]}) and (claimed(db, key) or {}).get("task") != task["_id"]:
            return f"card {serial} was already written for this order"
    return None
