"""Finding the events owed a notification, and recording one notification per recipient (store/notifications.py).

Each source is read with an indexed query whose cost follows the work in
flight, never the history:

- orders: those changed since the last scan (`notification_scans`, less
  MARGIN for writes whose time was taken a moment before they landed); each
  step of their history since then into a notified status is an event, so a
  step passed between two scans (written, then shipped) is not missed;
- slots: the slot records whose state is `refused` now;
- writer hosts: those whose slots' `live_until` all passed, the last within `lookback`;
- stranded orders: told by the beat's reconcile job as it finds them
  (`record_stranded`).

The notification's key names the event (the order's version, the slot's
card and reason, the host's last `live_until`), so finding an event again
records nothing new.
"""

import datetime
import hashlib
import logging

from cardshop.notify import render
from cardshop.notify.kinds import SUBSCRIBER_ROLES
from cardshop.notify.mail import message_id
from cardshop.states import ORDER
from cardshop.store import notifications, now, orders, users, workers
from cardshop.store.clock import utc
from cardshop.validation import short_id

log = logging.getLogger(__name__)

# The order statuses whose reaching is told, and as which kind.
ORDER_KINDS = {"pending_shipment": "order_written", "creation_failed": "order_failed",
               "write_failed": "order_failed", "shipped": "order_shipped"}
MARGIN = datetime.timedelta(seconds=300)
ORDER_FIELDS = {"status": 1, "statuses": 1, "recipient": 1, "quantity": 1, "shipment": 1, "sd_card": 1,
                "auto_image": 1}


def _record(db, settings, kind, subject, recipient, to, values, safe_html=None):
    doc_id = notifications.key(kind, subject, recipient)
    if notifications.exists(db, doc_id):
        return 0
    title, text, page = render.render(kind, values, safe_html)
    return int(notifications.record(db, {"_id": doc_id, "kind": kind, "about": subject, "to": to,
                                         "subject": title, "text": text, "html": page,
                                         "message_id": message_id(doc_id, settings.sender)}))


def _to_operators(db, settings, kind, subject, values):
    return sum(_record(db, settings, kind, subject, user["username"], user["email"], values)
               for user in users.subscribers(db, kind, SUBSCRIBER_ROLES))


def _order_values(settings, order):
    recipient = order.get("recipient") or {}
    return {"order": order["_id"], "order_short": short_id(order["_id"]), "status": order["status"],
            "recipient_name": recipient.get("name"), "recipient_address": recipient.get("address"),
            "quantity": order.get("quantity"), "order_url": settings.page_url(f"/orders/{order['_id']}")}


def _order_step(db, settings, order, rev, entry):
    kind = ORDER_KINDS[entry["status"]]
    values = {**_order_values(settings, order), "status": entry["status"], "reason": entry.get("note")}
    subject = f"{order['_id']}:{rev}"
    if kind != "order_shipped":
        return _to_operators(db, settings, kind, subject, values)
    email = (order.get("recipient") or {}).get("email")
    if not email or order.get("auto_image") or order.get("sd_card", {}).get("type") == "download":
        return 0
    shipment = order.get("shipment") or {}
    url = shipment.get("tracking_url")
    values.update(carrier=shipment.get("carrier"), tracking_number=shipment.get("tracking_number"),
                  tracking_line=f"Follow it here: {url}" if url else "", note=shipment.get("note") or "")
    safe = {"tracking_html": f"<p>{render.link(url, 'Follow it here')}</p>" if url else ""}
    return _record(db, settings, kind, subject, "recipient", email, values, safe)


def scan_orders(db, settings, lookback):
    """Record the notifications of the orders' steps since the last scan (at most `lookback` s back)."""
    until = now()
    since = notifications.scanned_until(db, "orders")
    since = until - MARGIN if since is None else since - MARGIN  # the first scan starts now, not in the past
    since = max(since, until - datetime.timedelta(seconds=lookback))
    recorded = 0
    for order in orders.in_status_since(db, ORDER.statuses, until, ORDER_FIELDS, after=since):
        for rev, entry in enumerate(order.get("statuses") or []):
            if entry.get("status") in ORDER_KINDS and entry.get("at") and utc(entry["at"]) >= since:
                recorded += _order_step(db, settings, order, rev, entry)
    notifications.set_scanned_until(db, "orders", until)
    return recorded


def scan_slots(db, settings):
    """Record the notifications of the slots refusing their card now (one per slot, card and reason)."""
    recorded = 0
    for worker in workers.refusing_slots(db):
        slot = worker.get("slot") or {}
        card = slot.get("card") or {}
        message = slot.get("message") or "no reason given"
        digest = hashlib.sha256(message.encode()).hexdigest()[:12]
        size = f"{card['size'] / 1e9:.1f} GB" if card.get("size") else "size unknown"
        values = {"slot": worker["_id"], "message": message, "fleet_url": settings.page_url("/fleet"),
                  "card": f"serial {card.get('serial') or 'unknown'}, {size}"}
        recorded += _to_operators(db, settings, "slot_refused",
                                  f"{worker['_id']}:{card.get('serial') or '-'}:{digest}", values)
    return recorded


def scan_hosts(db, settings, lookback):
    """Record the notifications of the writer hosts gone quiet: every slot's `live_until` passed, the last
    one in the last `lookback` s (a writer host is its slots: each heartbeats as `<user>@<host>.slot-<N>`)."""
    moment = now()
    quiet = {}
    for worker in workers.writers_gone_quiet(db, moment - datetime.timedelta(seconds=lookback), moment):
        key = (worker.get("username"), worker.get("host"))
        last = quiet.get(key)
        if last is None or utc(worker["live_until"]) > utc(last["live_until"]):
            quiet[key] = worker
    recorded = 0
    for (username, host), last in sorted(quiet.items()):
        if workers.host_live_at(db, username, host, moment):
            continue  # another slot of the host beats: a slot stopped, not the host
        name = f"{username}@{host}"
        last_seen = last.get("last_seen")
        values = {"host": name, "fleet_url": settings.page_url("/fleet"),
                  "last_seen": utc(last_seen).strftime("%Y-%m-%d %H:%M:%S UTC") if last_seen else None}
        recorded += _to_operators(db, settings, "host_offline", f"{name}:{utc(last['live_until']).isoformat()}",
                                  values)
    return recorded


def record_stranded(db, settings, order, why, action):
    """Record the notifications of a stranded order (once per version of the order)."""
    values = {**_order_values(settings, order), "reason": why, "action": action}
    return _to_operators(db, settings, "order_stranded", f"{order['_id']}:{order.get('rev', 0)}", values)
