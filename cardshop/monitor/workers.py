"""Celery worker events (online, heartbeat, offline) into the `workers` collection.

A worker's Celery node name is `<cardshop username>@<host>`; the username
gives its role. Events are not authenticated per sender the way reports are
(Celery does not stamp them), so they only ever feed display and the choice
of a writer host, never a task's state.
"""

import datetime
import logging

from cardshop.store import now

log = logging.getLogger(__name__)

_EVENT_TYPES = {"worker-online": True, "worker-heartbeat": True, "worker-offline": False}


class WorkerRegistry:
    def __init__(self, db):
        self.db = db

    def on_event(self, event):
        kind = event.get("type")
        hostname = event.get("hostname")
        if kind not in _EVENT_TYPES or not isinstance(hostname, str) or "@" not in hostname:
            return False
        username, _, host = hostname.partition("@")
        user = self.db.users.find_one({"username": username}, {"role": 1})
        if user is None:
            log.warning("event from %r, which names no user; ignored", hostname)
            return False
        try:
            seen = datetime.datetime.fromtimestamp(float(event.get("timestamp")), datetime.timezone.utc)
        except (TypeError, ValueError, OverflowError):
            seen = now()
        changes = {"username": username, "host": host, "role": user["role"], "online": _EVENT_TYPES[kind],
                   "last_seen": min(seen, now()), "last_event": kind}
        for field in ("active", "processed", "freq", "sw_ident", "sw_ver", "loadavg"):
            if field in event:
                changes[field] = event[field]
        for field in ("slots", "images"):  # custom fields writers add to their heartbeats
            if field in event:
                changes[field] = event[field]
        self.db.workers.update_one({"_id": hostname}, {"$set": changes, "$setOnInsert": {"first_seen": now()}},
                                   upsert=True)
        if kind != "worker-heartbeat":
            log.info("worker %s is %s", hostname, "online" if _EVENT_TYPES[kind] else "offline")
        return True
