"""What the manager's pages say: statuses, times, ids, an order's image and cards, and each writer slot
in words, with the action it asks of the operator. Every template gets these (web.Web.render)."""

import datetime
import re

from cardshop.pipeline.progress import duration_text, size_text
from cardshop.states.orders import LABELS, WORKFLOW
from cardshop.states.tasks import LABELS as TASK_LABELS
from cardshop.validation import short_id

# A slot's state (cardshop/writer/slot.py STATES) as the operator reads it, and what they must do then.
SLOT_STATES = {
    "no_reader": "no card reader",
    "empty": "empty",
    "checking": "checking the card",
    "ready": "card ready, waiting for an order",
    "busy": "working",
    "done": "done",
    "failed": "failed",
    "refused": "card refused",
}
SLOT_ACTIONS = {
    "no_reader": "plug the card reader in",
    "empty": "insert a card",
    "done": "remove the card",
    "failed": "remove the card and set it aside",
    "refused": "remove the card",
}
# A busy slot's step (pipeline/heartbeat.py SLOT_STEPS).
SLOT_STEPS = {
    "received": "starting",
    "downloading": "downloading the image",
    "writing": "writing",
    "verifying": "verifying",
    "waiting": "waiting to try again",
}
ZONE = datetime.timezone.utc
FULL_ID = re.compile(r"\b[0-9a-f]{24}\b")


def status_label(status, labels=LABELS):
    """A status as people say it: 'waiting for a writer' for an order's pending_writer (`labels`: an order's,
    or a task's: states.tasks.LABELS)."""
    return labels.get(status) or str(status).replace("_", " ")


def in_workflow_order(counts):
    """[(status, count)] of {status: count}, in the order an order lives them (unknown ones last)."""
    known = [(status, counts.get(status, 0)) for status in WORKFLOW]
    return known + sorted((status, count) for status, count in counts.items() if status not in LABELS)


def when(value):
    """A time with its zone, '2026-12-07 23:42:45 UTC', from an API time (ISO 8601) or a datetime; ''
    when there is none. A time without a zone is the API's UTC."""
    if isinstance(value, str) and value:
        try:
            value = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if not isinstance(value, datetime.datetime):
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZONE)
    return value.astimezone(ZONE).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock(value):
    """Only the time of day, with its zone: '23:42:45 UTC' (log lines of one task)."""
    text = when(value)
    return text[11:] if text.endswith("UTC") else text


def card_text(card):
    """'16.0 GB, serial 0x1234' of a card ({size, serial}); '' for none."""
    if not isinstance(card, dict):
        return ""
    size = card.get("size")
    text = size_text(size) if isinstance(size, (int, float)) else "size unknown"
    return text + (f", serial {card['serial']}" if card.get("serial") else "")


def image_text(order):
    """The order's image in words, with the figures progress counts against: '524.3 MB image (output.size
    500M), 517.4 MB of data written and verified on each card, 120.1 MB to download'; '' before it exists."""
    image = order.get("image")
    if not isinstance(image, dict) or not isinstance(image.get("image_size"), int):
        return ""
    parts = [f"{size_text(image['image_size'])} image"]
    asked = ((order.get("recipe") or {}).get("output") or {}).get("size")
    if isinstance(asked, str) and asked != "auto":
        parts[0] += f" (output.size {asked})"
    if isinstance(image.get("mapped_size"), int):
        parts.append(f"{size_text(image['mapped_size'])} of data written and verified on each card")
    if isinstance(image.get("compressed_size"), int):
        parts.append(f"{size_text(image['compressed_size'])} to download")
    return ", ".join(parts)


def written_cards(order):
    """The cards written and verified for the order, as rows: host, slot, serial, size, when."""
    return [{"host": str(card.get("host", "")), "slot": card.get("slot", ""), "serial": card.get("serial") or "—",
             "size": size_text(card["size"]) if isinstance(card.get("size"), int) else "—",
             "at": when(card.get("at"))}
            for card in order.get("cards") or [] if isinstance(card, dict)]


def slot_message(message, headline):
    """A slot's message as its tile shows it: ids shortened as everywhere else, without repeating the
    headline ('card refused: card too small…' under 'card refused')."""
    text = FULL_ID.sub(lambda found: short_id(found.group()), str(message or ""))
    return text[len(headline) + 2:] if text.lower().startswith(headline + ": ") else text


def slot_tile(slot, progress=None):
    """A writer slot as its tile says it: {number, state, headline, action, message, rows, order}.

    `progress` is its task's progress (the host's `current_tasks`), which has the time left.
    """
    state = slot.get("state") or "unknown"
    online = slot.get("online", True)
    headline = SLOT_STATES.get(state, state.replace("_", " "))
    if state == "busy":
        step = slot.get("step")
        headline = SLOT_STEPS.get(step, str(step or "working").replace("_", " "))
    action = SLOT_ACTIONS.get(state)
    if not online:
        headline, action = f"offline ({headline})", f"check writer@{slot.get('number', 'N')} on the host"
    rows = []
    if slot.get("order"):
        rows.append(("Order", short_id(slot["order"])))
    if slot.get("card"):
        rows.append(("Card", card_text(slot["card"])))
    if state == "busy" and isinstance(slot.get("percent"), (int, float)):
        rows.append(("Done", f"{min(slot['percent'], 100):.0f} %"))
    if state == "busy" and isinstance(slot.get("rate"), (int, float)) and slot["rate"] > 0:
        rows.append(("Speed", f"{size_text(slot['rate'])}/s"))
    eta = (progress or {}).get("eta")
    if state == "busy" and isinstance(eta, (int, float)) and eta > 0:
        rows.append(("Time left", duration_text(eta)))
    if not online and slot.get("last_seen"):
        rows.append(("Last seen", when(slot["last_seen"])))
    return {"number": slot.get("number", "?"), "state": state if online else "offline", "headline": headline,
            "action": action, "message": slot_message(slot.get("message"), headline), "rows": rows,
            "order": slot.get("order")}


HELPERS = {"status_label": status_label, "when": when, "clock": clock, "short_id": short_id,
           "card_text": card_text, "TASK_LABELS": TASK_LABELS}
