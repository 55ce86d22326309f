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

A fleet heartbeats hundreds of times a second, and most heartbeats only say
"still here" (a busy slot's progress, every idle slot every 15 s). The registry
remembers what it last wrote of each worker (a bounded cache; only the
monitor writes these fields, others only delete whole documents) and sorts
each filed heartbeat:

- one that changes what matters (online or not, a slot's state, card or task,
  the images, counts, software; a worker not in the cache) is written at once,
  before the message is acknowledged: placement, the written-card checks and
  operators see it in the order it was sent;
- one that only refreshes `last_seen` and a busy slot's progress (step,
  percent, rate, message) waits in memory, the latest per worker winning, and
  all that wait are written in one bulk write once the oldest waited
  FLUSH_EVERY s. Such a heartbeat is acknowledged as soon as it waits: losing
  it (the monitor killed) loses at most FLUSH_EVERY s of `last_seen`, and the
  worker's next heartbeat says the same again.
"""

import collections
import datetime
import logging
import time

from cardshop.auth import roles
from cardshop.domain.placement import is_registered
from cardshop.monitor.apply import APPLIED, REFUSED
from cardshop.pipeline.heartbeat import slot_of
from cardshop.store import now, workers, writer_slots

log = logging.getLogger(__name__)

# Registrations and record names are read at most this often: the monitor files hundreds of
# heartbeats a second, and a flood of invented ones must not become database reads.
CACHE_SECONDS = 3.0
MAX_ACCOUNTS = 10000  # accounts whose registrations or record names are kept (accounts come and go)
FLUSH_EVERY = 1.0  # seconds a refresh-only heartbeat may wait to be written (and be lost with a killed monitor)
MAX_KNOWN = 20000  # workers whose last written state is remembered (the least recently heard forgotten first)
PROGRESS = ("step", "percent", "rate")  # a busy slot's progress: refreshed, not a change of state
COALESCED = "coalesced"  # the outcome of a refresh-only heartbeat: it waits for the next bulk write


class WorkerRegistry:
    def __init__(self, db, role_of, max_records_per_creator=32, live_for=90):
        self.db = db
        self.role_of = role_of  # username -> role while active, else None
        self.live_for = datetime.timedelta(seconds=live_for)  # monitor.writer_timeout: `live_until` is this later
        self.max_records_per_creator = max_records_per_creator
        self._registered = {}  # {(writer, host): {slot numbers}} of the writers in _writers
        self._writers, self._registered_at = set(), 0.0
        self._records = {}  # creator -> (read at, {worker names})
        self._known = collections.OrderedDict()  # worker -> what matters of its document, as last written
        self._pending = {}  # worker -> the changes of its latest refresh-only heartbeat, not written yet
        self._pending_since = 0.0  # when the oldest of them arrived
        self.written = collections.Counter()  # "at_once", "coalesced" (heartbeats), "bulk_writes"

    def on_heartbeat(self, beat, sender, before_write=None):
        """File a schema-valid heartbeat: APPLIED once written, COALESCED when it only refreshes and
        waits for the next bulk write, REFUSED when it is not the sender's own to send. `before_write`
        is called before a write at once (the caller writes what must come first)."""
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
        name = beat["worker"]
        changes = {"username": username, "host": slot_of(name)[0], "role": role,
                   "online": beat["online"], **self._seen()}
        for field in ("slots", "images", "active", "software", "slot"):
            if field in beat:
                changes[field] = beat[field]
        state, known = _what_matters(changes), self._known.get(name)
        if state == known:
            self._known.move_to_end(name)
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending[name] = changes
            self.written["coalesced"] += 1
            return COALESCED
        if before_write is not None:
            before_write()
            changes.update(self._seen())  # after what came before it
        previous = workers.file_heartbeat(self.db, name, changes, now())
        self._pending.pop(name, None)  # this write carries every field of a newer heartbeat
        self._remember(name, state)
        self.written["at_once"] += 1
        if previous is None or previous.get("online") != beat["online"]:
            log.info("worker %s is %s", name, "online" if beat["online"] else "offline")
        if role == roles.CREATOR:
            self._records[username][1].add(name)
        return APPLIED

    def flush(self, force=False):
        """Write the waiting refreshes in one bulk write once the oldest waited FLUSH_EVERY s (`force`:
        now); how many. When the write fails they wait FLUSH_EVERY s more (newer ones win) and the
        error is raised."""
        if not self._pending or (not force and time.monotonic() - self._pending_since < FLUSH_EVERY):
            return 0
        pending, self._pending = self._pending, {}
        try:
            gone = workers.refresh_heartbeats(self.db, pending)
        except Exception:
            for name, changes in pending.items():
                self._pending.setdefault(name, changes)
            self._pending_since = time.monotonic()
            raise
        self.written["bulk_writes"] += 1
        for name in gone:  # deleted by someone else: its next heartbeat is filed as a new worker's
            self._known.pop(name, None)
        return len(pending)

    def _seen(self):
        """`last_seen` now, and `live_until` (what placement reads everywhere) the writer timeout later."""
        moment = now()
        return {"last_seen": moment, "live_until": moment + self.live_for}

    def discard_pending(self):
        """Forget the waiting refreshes (they failed for a reason other than the database being away)."""
        count, self._pending = len(self._pending), {}
        return count

    def _remember(self, name, state):
        self._known[name] = state
        self._known.move_to_end(name)
        while len(self._known) > MAX_KNOWN:
            self._known.popitem(last=False)

    def _unregistered(self, worker, username):
        """Why a writer's heartbeat names a host or slot nobody registered; None when it is registered."""
        if is_registered(self._registrations(username), username, worker):
            return None
        host, number = slot_of(worker)
        return f"host {host!r} has no registered slots" if number is None else \
            f"slot {number} of host {host!r} is not registered"

    def _registrations(self, username):
        """{(writer, host): {slot numbers}} of the writers heard from: every CACHE_SECONDS all of them in
        one query (not one query per writer host), a writer not heard from before at once."""
        if time.monotonic() - self._registered_at > CACHE_SECONDS:
            if len(self._writers) > MAX_ACCOUNTS:
                self._writers.clear()
            self._writers.add(username)
            self._registered = writer_slots.numbers_by_host(self.db, self._writers)
            self._registered_at = time.monotonic()
        elif username not in self._writers:
            self._writers.add(username)
            self._registered.update(writer_slots.numbers_by_host(self.db, [username]))
        return self._registered

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
        if len(cache) > MAX_ACCOUNTS:  # accounts come and go: never grow without bound
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


def _what_matters(changes):
    """The heartbeat's fields but `last_seen`, `live_until` and a busy slot's progress: a change here is
    written at once."""
    state = {key: value for key, value in changes.items() if key not in ("last_seen", "live_until")}
    slot = changes.get("slot")
    if slot is not None:
        busy = slot.get("state") == "busy"
        state["slot"] = {key: value for key, value in slot.items()
                         if key not in PROGRESS and not (busy and key == "message")}
    return state
