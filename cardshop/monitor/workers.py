"""Workers' heartbeats into the `workers` collection: who is online, with which slots and images.

A heartbeat arrives on the `reports` queue, stamped by RabbitMQ with the
sender's username (`user_id`). It names its worker `<username>@<host>`: the
username must be the sender's, and the sender must be an active worker
(creator or writer), else the heartbeat is refused. The time seen is the
monitor's, never the worker's clock.

A writer host runs one process per card slot, each named
`<username>@<host>.slot-<N>` and sending its `slot` state (number N, as in its
name); only an active writer may send one. The document keeps the slot, and
`host` without the `.slot-<N>` suffix, so that the API and writer placement
can group a host's slots.
"""

import logging

from cardshop.auth import roles
from cardshop.monitor.apply import APPLIED, REFUSED
from cardshop.pipeline.heartbeat import slot_of
from cardshop.store import now, workers

log = logging.getLogger(__name__)


class WorkerRegistry:
    def __init__(self, db, role_of):
        self.db = db
        self.role_of = role_of  # username -> role while active, else None

    def on_heartbeat(self, beat, sender):
        """File a schema-valid heartbeat; REFUSED when it is not the sender's own."""
        username = beat["worker"].partition("@")[0]
        if username != sender:
            log.warning("refused a heartbeat from %r claiming to be %r", sender, beat["worker"])
            return REFUSED
        role = self.role_of(username)
        if role not in roles.WORKERS:
            log.warning("refused a heartbeat from %r: not an active worker", sender)
            return REFUSED
        if "slot" in beat:
            problem = self._slot_problem(beat, role)
            if problem:
                log.warning("refused a heartbeat from %r: %s", sender, problem)
                return REFUSED
        changes = {"username": username, "host": slot_of(beat["worker"])[0], "role": role,
                   "online": beat["online"], "last_seen": now()}
        for field in ("slots", "images", "active", "software", "slot"):
            if field in beat:
                changes[field] = beat[field]
        previous = workers.file_heartbeat(self.db, beat["worker"], changes, now())
        if previous is None or previous.get("online") != beat["online"]:
            log.info("worker %s is %s", beat["worker"], "online" if beat["online"] else "offline")
        return APPLIED

    @staticmethod
    def _slot_problem(beat, role):
        if role != roles.WRITER:
            return f"a {role} has no card slots"
        number = beat["slot"]["number"]
        if slot_of(beat["worker"])[1] != number:
            return f"slot {number} reported by {beat['worker']!r}, not by <user>@<host>.slot-{number}"
        return None
