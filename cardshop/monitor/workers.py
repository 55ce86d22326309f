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

Workers cannot invent hosts or slots: a writer's slot heartbeat is filed only
when an operator registered that slot (store/writer_slots.py), a writer's
host-wide heartbeat only when its host has registered slots; a creator has
at most `max_records_per_creator` worker records (a heartbeat from one more
host is refused). Refused heartbeats are dropped and counted by the caller.
"""

import logging
import time

from cardshop.auth import roles
from cardshop.domain.placement import is_registered
from cardshop.monitor.apply import APPLIED, REFUSED
from cardshop.pipeline.heartbeat import slot_of
from cardshop.store import now, workers, writer_slots

log = logging.getLogger(__name__)

# Registrations and record names are read at most this often per account: the monitor files
# hundreds of heartbeats a second, and a flood of invented ones must not become database reads.
CACHE_SECONDS = 3.0


class WorkerRegistry:
    def __init__(self, db, role_of, max_records_per_creator=32):
        self.db = db
        self.role_of = role_of  # username -> role while active, else None
        self.max_records_per_creator = max_records_per_creator
        self._registered = {}  # writer -> (read at, {(writer, host): {slot numbers}})
        self._records = {}  # creator -> (read at, {worker names})

    def on_heartbeat(self, beat, sender):
        """File a schema-valid heartbeat; REFUSED when it is not the sender's own to send."""
        username = beat["worker"].partition("@")[0]
        if username != sender:
            log.warning("refused a heartbeat from %r claiming to be %r", sender, beat["worker"])
            return REFUSED
        role = self.role_of(username)
        if role not in roles.WORKERS:
            log.warning("refused a heartbeat from %r: not an active worker", sender)
            return REFUSED
        problem = _slot_problem(beat, role) if "slot" in beat else None
        problem = problem or (self._unregistered(beat["worker"], username) if role == roles.WRITER
                              else self._one_too_many(beat["worker"], username))
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
        if role == roles.CREATOR:
            self._records[username][1].add(beat["worker"])
        return APPLIED

    def _unregistered(self, worker, username):
        """Why a writer's heartbeat names a host or slot nobody registered; None when it is registered."""
        registered = _cached(self._registered, username, lambda: writer_slots.numbers_by_host(self.db, [username]))
        if is_registered(registered, username, worker):
            return None
        host, number = slot_of(worker)
        return f"host {host!r} has no registered slots" if number is None else \
            f"slot {number} of host {host!r} is not registered"

    def _one_too_many(self, worker, username):
        """Why a creator's heartbeat would make one worker record too many; None when it may be filed."""
        names = _cached(self._records, username, lambda: set(workers.names_of(self.db, username)))
        if worker in names or len(names) < self.max_records_per_creator:
            return None
        return (f"{username} has {len(names)} worker records already, the most for one account "
                "(monitor.max_hosts_per_account); a heartbeat from one more host is refused")


def _cached(cache, username, read):
    """What `read()` gave for `username` at most CACHE_SECONDS ago (read again when older)."""
    entry = cache.get(username)
    if entry is None or time.monotonic() - entry[0] > CACHE_SECONDS:
        if len(cache) > 10000:  # accounts come and go: never grow without bound
            cache.clear()
        entry = cache[username] = (time.monotonic(), read())
    return entry[1]


def _slot_problem(beat, role):
    if role != roles.WRITER:
        return f"a {role} has no card slots"
    number = beat["slot"]["number"]
    if slot_of(beat["worker"])[1] != number:
        return f"slot {number} reported by {beat['worker']!r}, not by <user>@<host>.slot-{number}"
    return None
