"""The monitor's loop: consume reports and heartbeats, write them, then acknowledge.

A report is acknowledged only after its database write, so nothing is lost
while the database or the monitor is down: the reports wait in RabbitMQ. A
heartbeat that only refreshes a worker's `last_seen` or progress is the one
exception: it waits in memory for the next bulk write and is acknowledged at
once (monitor/workers.py: the worker's next heartbeat says it again).

Each worker account has its own queue (pipeline/topology.py); the monitor
consumes every account's with a prefetch of its own, so one account's flood
waits in that account's queue while the others' reports are served in turn.
New accounts are found in the database every ACCOUNTS_EVERY seconds and their
queues declared. Claims are answered by a thread of their own (monitor/claim_service.py).

Reports are applied by a few threads (monitor/lanes.py): a task's in the
order they came, different tasks side by side. A heartbeat that changes a
worker's state waits until its sender's earlier reports are applied.

Every message is untrusted input from a worker: its raw body is checked
(monitor/intake.py) and validated against its schema before use; one that is
malformed (or that makes the code fail) is logged, counted in `dropped`
(added up in `monitor_stats`), acknowledged and dropped, and the loop goes on.
"""

import collections
import datetime
import logging
import threading
import time

import pymongo.errors
from kombu.mixins import ConsumerMixin

from cardshop import faults
from cardshop.monitor import intake
from cardshop.monitor.apply import REFUSED, ReportApplier
from cardshop.monitor.claims import ClaimDecider
from cardshop.monitor.lanes import Lanes
from cardshop.domain.cascades import Cascades
from cardshop.monitor.results import WarehouseUnavailable
from cardshop.monitor.workers import WorkerRegistry
from cardshop.pipeline import heartbeat, topology
from cardshop.pipeline.reports import REPORT_SCHEMA
from cardshop.store import clock, monitor_stats, now, unavailable, users, writer_slots
from cardshop.validation import Validator

log = logging.getLogger(__name__)

# The database is away (the message waits in RabbitMQ); any other database error is the message's.
STATS_EVERY = 1.0  # seconds between saves of the drop counters, claim decisions and lag
MAX_LAG = 86400.0  # a report's lag is counted at most this (a worker's clock far behind)
ACCOUNTS_EVERY = 2.0  # seconds between looks for new worker accounts
CLOCK_EVERY = 60.0  # seconds between measures of the database server's clock (the times the monitor writes)
DATABASE_FIRST, DATABASE_MOST = 0.5, 10.0  # back-off (seconds) while the database is away: back soon after it is
SENDER_WAIT = 30.0  # seconds a state-changing heartbeat waits for its sender's earlier reports, else it is requeued
REQUEUE, ERROR = "requeue", "error"  # a lane's outcomes besides the applier's
_REPORT = Validator(REPORT_SCHEMA)
_HEARTBEAT = Validator(heartbeat.HEARTBEAT_SCHEMA)


def first_error(body):
    """None for a well-formed report or heartbeat; else what is wrong, in one line."""
    if isinstance(body, dict) and body.get("type") == heartbeat.TYPE:
        return _HEARTBEAT.first_error(body)
    return _REPORT.first_error(body)


class Accounts:
    """The worker accounts whose queues exist: found in the database, declared by the reports thread."""

    def __init__(self, db):
        self.db = db
        self.declared = set()  # read by the claims thread: names are only ever added
        self._looked = 0.0

    def declare_new(self, connection, force=False):
        """Declare the queues of accounts not seen before; the new usernames."""
        if not force and time.monotonic() - self._looked < ACCOUNTS_EVERY:
            return []
        self._looked = time.monotonic()
        try:
            new = [name for name in users.worker_usernames(self.db) if name not in self.declared]
        except pymongo.errors.PyMongoError as exc:  # the database is away: the known accounts go on
            log.warning("cannot look for new worker accounts: %s", exc)
            return []
        declared = []
        for name in new:
            try:
                topology.declare_account(connection, name)
            except connection.connection_errors + connection.channel_errors as exc:
                # The ones declared so far are consumed now, the others at the next look.
                log.warning("cannot declare the queues of worker account %r now: %s", name, exc)
                break
            self.declared.add(name)
            declared.append(name)
        if declared:
            log.info("consuming the queues of %d new worker account(s)", len(declared))
        return declared


class SenderBehind(Exception):
    """A sender's earlier reports are still not applied (the database is slow or away)."""


class Monitor(faults.Stoppable, ConsumerMixin):
    def __init__(self, app, db, publisher=None, prefetch=20, on_ready=None, results=None, writer_timeout=90,
                 slot_registered=None, lanes=4):
        self.app = app
        self.connection = app.connection_for_read()
        self.db = db
        self.prefetch = prefetch
        self.accounts = Accounts(db)
        self.applier = ReportApplier(db, Cascades(db, publisher), results)
        if slot_registered is None:  # a writer claims only for a slot registered to its host
            def slot_registered(username, host, number):
                return writer_slots.registered_slot(db, username, host, number) is not None
        self.claims = ClaimDecider(db, self.applier.role_of, slot_registered,
                                   Cascades(db, publisher))  # its own: another thread uses it
        self.applier.claims = self.claims
        self.registry = WorkerRegistry(db, self.applier.role_of, live_for=writer_timeout)
        self._consumer = None
        self._clock_at = 0.0
        self.on_ready = on_ready
        self.applied = 0
        self.dropped = collections.Counter()  # why -> how many messages were dropped
        self.claimed = collections.Counter()  # decision -> how many claim requests were answered so
        self._lag = None  # the longest delay of a report applied since the stats were last saved (seconds)
        # what monitor_stats already holds of each counter, and when it was last saved
        self._saved = {monitor_stats.DROPPED: collections.Counter(), monitor_stats.CLAIMS: collections.Counter()}
        self._saved_at = 0.0
        self._drops_lock = threading.Lock()  # the claims thread counts its drops and decisions here too
        # The consumer thread's pause after requeueing a heartbeat it cannot write yet.
        self._heartbeat_waits = faults.Backoff(first=DATABASE_FIRST, most=DATABASE_MOST, stop=self.stopping)
        self.last_loop = time.monotonic()  # the watchdog's proof that the loop turns
        # Progress reports waiting to be written: only each run's latest matters, so a
        # burst becomes one write per task. They are acknowledged after that write.
        self._progress = []
        self._progress_since = 0.0
        self.flush_after = max(1, prefetch // 2)
        self.lanes = Lanes(lanes, self._apply_in_lane)

    def get_consumers(self, Consumer, channel):
        topology.declare_all(self.connection)
        self.accounts.declare_new(self.connection, force=True)
        queues = [topology.reports_queue()]  # workers of an older version reported there
        queues += [topology.account_queues(name)[0] for name in sorted(self.accounts.declared)]
        # The prefetch is per queue (per consumer): each account has at most that many reports in hand.
        self._consumer = Consumer(queues=queues, on_message=self.on_message, prefetch_count=self.prefetch)
        return [self._consumer]

    def follow_the_database_clock(self):
        """Stamp reports, sightings and claims with the database server's time, not this host's."""
        if time.monotonic() - self._clock_at < CLOCK_EVERY:
            return
        self._clock_at = time.monotonic()
        try:
            if clock.follow(clock.measure(self.db)):
                log.info("following the database server's clock (this host's is %+.1f s off)",
                         clock.followed_skew())
        except (pymongo.errors.PyMongoError, clock.ClockUnknown) as exc:
            log.warning("cannot read the database server's clock: %s", exc)

    def consume_new_accounts(self):
        try:
            for name in self.accounts.declare_new(self.connection):
                if self._consumer is not None:
                    self._consumer.add_queue(topology.account_queues(name)[0])
                    self._consumer.consume()
        except self.connection.connection_errors + self.connection.channel_errors as exc:
            log.warning("cannot declare new worker accounts' queues now: %s", exc)  # the next look tries again

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        log.info("consuming reports and heartbeats")
        if self.on_ready:
            self.on_ready()

    def on_connection_error(self, exc, interval):
        log.warning("broker connection lost (%s); retrying in %.0f s", exc, interval)

    def on_iteration(self):
        self.last_loop = time.monotonic()
        self.settle()
        self.consume_new_accounts()
        self.follow_the_database_clock()
        if self._progress and (len(self._progress) >= self.flush_after
                               or time.monotonic() - self._progress_since > 0.05):
            self.flush_progress()
        self.flush_heartbeats()
        self.save_stats()

    # -- dropping -----------------------------------------------------------

    def drop(self, message, why, sender, detail):
        """Acknowledge and forget a message that cannot be used; count it."""
        self.count_drop(why, sender, detail)
        message.ack()

    def count_claim(self, decision):
        with self._drops_lock:
            self.claimed[decision] += 1

    def count_drop(self, why, sender, detail):
        with self._drops_lock:
            self.dropped[why] += 1
            total = sum(self.dropped.values())
        log.warning("dropped a message from %r (%s: %s); %d dropped so far", sender, why, detail, total)

    def on_message(self, message):
        """The raw message: checked before anything is decoded, then handled as a report."""
        try:
            body = intake.read(message)
        except intake.Unusable as exc:
            self.drop(message, exc.why, message.properties.get("user_id"), str(exc))
            return
        self.on_report(body, message)

    def save_stats(self, force=False):
        """Add the drops and claim decisions since the last save to `monitor_stats`, with the lag of the
        reports applied meanwhile (at most every STATS_EVERY s; totals survive restarts), for operators,
        the metrics and tests."""
        if not force and time.monotonic() - self._saved_at < STATS_EVERY:
            return
        with self._drops_lock:
            counted = {monitor_stats.DROPPED: self.dropped.copy(), monitor_stats.CLAIMS: self.claimed.copy()}
            lag, self._lag = self._lag, None
        try:
            for name, total in counted.items():
                unsaved = total - self._saved[name]
                if unsaved:
                    monitor_stats.add(self.db, name, dict(unsaved), now())
                    self._saved[name] = total
            if lag is not None:
                monitor_stats.set_lag(self.db, lag, now())
        except pymongo.errors.PyMongoError as exc:
            log.debug("monitor figures not saved: %s", exc)
            if lag is not None:
                self._measure_lag(lag)  # kept for the next try
            return
        self._saved_at = time.monotonic()

    def _measure_lag(self, seconds):
        with self._drops_lock:
            self._lag = seconds if self._lag is None else max(self._lag, seconds)

    def _lag_of(self, body):
        """Seconds from a report's sending (the worker's `at`, by its own clock: fleet hosts keep theirs
        in time with NTP, and a clock ahead counts as no lag) to now; None when `at` is not a time."""
        try:
            sent = datetime.datetime.fromisoformat(body["at"])
        except (KeyError, TypeError, ValueError):
            return None
        return min(max((now() - clock.utc(sent)).total_seconds(), 0.0), MAX_LAG)

    # -- applying -----------------------------------------------------------

    def _apply_in_lane(self, job):
        """Apply one report (in a lane's thread): (outcome, detail). While the database is away the report
        waits here, in its lane (later reports of its task wait behind it: their order is kept)."""
        body, sender, _ = job
        waits = faults.Backoff(first=DATABASE_FIRST, most=DATABASE_MOST, stop=self.stopping)
        while True:
            try:
                return self.applier.apply(body, sender), None
            except WarehouseUnavailable as exc:  # its check waits (up to the checker's patience): try it later
                waits.wait()
                return REQUEUE, str(exc)
            except Exception as exc:
                if not unavailable(exc):
                    log.exception("report from %r failed", sender)  # a bug must not stop the monitor
                    return ERROR, f"{type(exc).__name__}: {exc}"
                failure = exc
            stopping = f"database unavailable ({failure}) and the monitor stopping"
            if self.should_stop:
                return REQUEUE, stopping
            delay = waits.next()
            log.warning("database unavailable (%s); the report on task %s is tried again (retry %d) in %.1f s",
                        failure, body["task"], waits.attempt, delay)
            if waits.sleep(delay):  # a stop ends the wait: the report waits in RabbitMQ, unacknowledged
                return REQUEUE, stopping

    def settle(self):
        """Acknowledge (or requeue, or drop) the messages whose reports the lanes applied: the consumer
        thread's job, since the broker's channel is not shared between threads."""
        for (body, sender, messages), result in self.lanes.finished():
            # No result: the lane caught what _apply_in_lane let through (a bug), and it is dropped as one.
            outcome, detail = result or (ERROR, "the report's lane failed (see the log)")
            if outcome == REQUEUE:
                log.warning("%s; %d report(s) requeued", detail, len(messages))
                for message in messages:
                    message.requeue()
            elif outcome == ERROR:
                for message in messages:
                    self.drop(message, "error", sender, detail)
            elif outcome == REFUSED and body["type"] != "progress":
                self.drop(messages[0], "refused", sender, f"{body['type']} not the sender's to send")
            else:
                for message in messages:
                    message.ack()
                self.applied += len(messages)
                lag = self._lag_of(body)
                if lag is not None:
                    self._measure_lag(lag)
                log.debug("%s from %s: %s", body["type"], sender, outcome)

    def flush_heartbeats(self, force=False):
        """Write the refresh-only heartbeats waiting in memory (at most one bulk write a second, unless `force`)."""
        try:
            self.registry.flush(force)
        except Exception as exc:
            if unavailable(exc):  # they wait for the next try; newer heartbeats replace them meanwhile
                log.warning("heartbeats not written now, database unavailable (%s)", exc)
                return
            log.exception("heartbeats failed")  # a bug must not stop the monitor: the next ones say it again
            self.count_drop("error", None, f"{self.registry.discard_pending()} heartbeats: {type(exc).__name__}: {exc}")

    def flush_progress(self):
        """Hand the progress reports received so far to the lanes: only each run's latest is applied,
        and all of them are acknowledged once it is."""
        pending, self._progress = self._progress, []
        latest = {}
        for body, sender, message in pending:
            key = (body["task"], body["run"], sender)
            if key not in latest:
                latest[key] = [body, sender, [message]]
                continue
            latest[key][2].append(message)
            if body["seq"] > latest[key][0]["seq"]:
                latest[key][0] = body
        for body, sender, messages in latest.values():
            self.lanes.submit(body["task"], sender, (body, sender, messages))

    def on_report(self, body, message):
        self.settle()
        sender = message.properties.get("user_id")
        error = first_error(body)
        if error:
            self.drop(message, "malformed", sender, error)
            return
        if not sender:
            self.drop(message, "anonymous", sender, "no user_id")
            return
        if body["type"] == "progress":
            if not self._progress:
                self._progress_since = time.monotonic()
            self._progress.append((body, sender, message))
            if len(self._progress) >= self.flush_after:
                self.flush_progress()
            return
        if body["type"] == heartbeat.TYPE:
            self.on_heartbeat(body, sender, message)
            return
        if self._progress:  # keep the order: earlier progress first
            self.flush_progress()
        self.lanes.submit(body["task"], sender, (body, sender, [message]))

    def on_heartbeat(self, body, sender, message):
        def sender_first():  # one that changes a worker's state is written after what its sender sent before
            self.flush_progress()
            if not self.lanes.wait_for(sender, timeout=SENDER_WAIT):
                raise SenderBehind(f"{sender}'s earlier reports are not applied after {SENDER_WAIT} s")

        try:
            outcome = self.registry.on_heartbeat(body, sender, before_write=sender_first)
        except Exception as exc:
            if unavailable(exc) or isinstance(exc, SenderBehind):
                log.warning("%s; a heartbeat requeued", exc if isinstance(exc, SenderBehind)
                            else f"database unavailable ({exc})")
                message.requeue()
                self._heartbeat_waits.wait()  # requeued first: a stop during the pause loses nothing
                return
            log.exception("heartbeat from %r failed", sender)  # a bug must not stop the monitor
            self.drop(message, "error", sender, f"{type(exc).__name__}: {exc}")
            return
        self._heartbeat_waits.reset()
        if outcome == REFUSED:
            self.drop(message, "refused", sender, "heartbeat not the sender's to send")
            return
        # Written, or (COALESCED) a refresh waiting for the next bulk write: safe to lose, the next replaces it.
        message.ack()
        self.applied += 1
