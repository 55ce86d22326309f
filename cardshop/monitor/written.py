"""A write task's `written` counts only with a result that matches its order and its claim.

The writer host that holds the task (the monitor checked the sender and the
run) reports what it wrote: its host and slot, the image's name, checksum and
size, the bytes it mapped and read back, and the card. The monitor believes
none of it blindly: the result must be well-formed, name the slot and card
the accepted claim named (and that slot must not have gone on to another
task, nor say in its heartbeats since the claim that it is empty), name the
order's image with its checksum, size and mapped size, have read back every
mapped byte, fit the card, and have taken a physically plausible time: the
mapped bytes written and read back at no more than `max_card_rate` bytes/s
since the claim. The same card (by serial, when the reader gives one)
counts once per order.
"""

import logging

from cardshop.pipeline.heartbeat import CARD_SCHEMA, MAX_SLOTS
from cardshop.store import now, orders, workers
from cardshop.store.commits import claim, claimed
from cardshop.validation import Validator

log = logging.getLogger(__name__)

MAX_CARD_RATE = 400 * 10**6  # bytes/s (monitor.max_card_rate): no card reader is faster (UHS-II ~ 312 MB/s)
_EMPTY = ("empty", "no_reader")

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


def _claim_problem(db, task, result, sender, claims):
    """None when the result's slot and card are the claim's, and the slot is still on this task."""
    held = task.get("claim") or {}
    if (held.get("host"), held.get("slot")) != (result["host"], result["slot"]):
        return (f"slot {result['slot']} of host {result['host']!r} is not the one that claimed the task "
                f"(slot {held.get('slot')} of {held.get('host')!r})")
    card, claimed_card = result["card"], held.get("card") or {}
    if (card["size"], card.get("serial")) != (claimed_card.get("size"), claimed_card.get("serial")):
        return "the card written is not the card the claim named"
    if claims is not None and not claims.holds_slot(sender, result["host"], result["slot"], task["_id"]):
        return f"slot {result['slot']} went on to another task since it claimed this one"
    worker = workers.find(db, f"{sender}@{result['host']}.slot-{result['slot']}", {"slot": 1, "last_seen": 1})
    if not isinstance((worker or {}).get("slot"), dict):
        return f"slot {result['slot']} of host {result['host']!r} is not a slot of {sender}"
    seen_after_claim = task.get("claimed_at") is None or (worker.get("last_seen") or task["claimed_at"]) > \
        task["claimed_at"]
    if seen_after_claim and worker["slot"].get("state") in _EMPTY:
        return f"slot {result['slot']}'s heartbeats say it is {worker['slot']['state']}"
    return None


def _too_fast(task, mapped, max_card_rate):
    """Why writing and reading back `mapped` bytes since the claim is not believable, or None.

    `mapped` is at least half the image's own mapped size (the creator measured
    it, and block maps count a little differently), so claiming few bytes does not help.
    """
    if not task.get("claimed_at") or not max_card_rate:
        return None
    elapsed = (now() - task["claimed_at"]).total_seconds()
    needed = 2 * mapped / max_card_rate  # written, then read back
    if elapsed < needed:
        return (f"{mapped} bytes written and read back in {elapsed:.2f} s since the claim: faster than "
                f"{max_card_rate // 10**6} MB/s, which no card does")
    return None


def written_problem(db, task, result, sender, claims=None, max_card_rate=MAX_CARD_RATE):
    """None when the `written` result holds; else why not (one line)."""
    error = _VALIDATOR.first_error(result)
    if error:
        return error
    order = orders.find(db, task["order"], {"image": 1, **orders.IMAGE_NAME_FIELDS})
    if order is None:
        return "the task's order is gone"
    problem = _claim_problem(db, task, result, sender, claims)
    if problem:
        return problem
    image = order.get("image") if isinstance(order.get("image"), dict) else {}
    expected = orders.image_name(order)
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
    problem = _too_fast(task, max(result["mapped_bytes"], int(image.get("mapped_size") or 0) // 2), max_card_rate)
    if problem:
        return problem
    if result["card"]["size"] < result["image_size"]:
        return f"a card of {result['card']['size']} bytes cannot hold an image of {result['image_size']}"
    serial = result["card"].get("serial")
    if serial:
        key = f"orders/{task['order']}/cards/{serial}"
        if not claim(db, key, {"task": task["_id"]}) and (claimed(db, key) or {}).get("task") != task["_id"]:
            return f"card {serial} was already written for this order"
    return None
