"""Workers' heartbeats into the `workers` collection: who is online, with which slots and images.

A heartbeat arrives on the `reports` queue, stamped by RabbitMQ with the
sender's username (`user_id`). It names its worker `<username>@<host>`: the
username must be the sender's, and the sender must be an active worker
(creator or writer), else the heartbeat is refused. The time seen is the
monitor's, never the worker's clock.
"""

import logging

from cardshop.auth import roles
from cardshop.monitor.apply import APPLIED, REFUSED
from cardshop.store import now

log = logging.getLogger(__name__)


class WorkerRegistry:
    def __init__(self, db, role_of):
        self.db = db
        self.role_of = role_of  # username -> role while active, else None

    def on_heartbeat(self, beat, sender):
        """File a schema-valid heartbeat; REFUSED when it is not the sender's own."""
        username, _, host = beat["worker"].partition("@")
        if username != sender:
            log.warning("refused a heartbeat from %r claiming to be %r", sender, beat["worker"])
            return REFUSED
        role = self.role_of(username)
        if role not in roles.WORKERS:
            log.warning("refused a heartbeat from %r: not an active worker", sender)
            return REFUSED
        changes = {"username": username, "host": host, "role": role, "online": beat["online"],
                   "last_seen": now()}
        for field in ("slots", "images", "active", "software"):
            if field in beat:
                changes[field] = beat[field]
        previous = self.db.workers.find_one({"_id": beat["worker"]}, {"online": 1})
        self.db.workers.update_one({"_id": beat["worker"]}, {"$set": changes, "$setOnInsert": {"first_seen": now()}},
                                   upsert=True)
        if previous is None or previous.get("online") != beat["online"]:
            log.info("worker %s is %s", beat["worker"], "online" if beat["online"] else "offline")
        return APPLIED
