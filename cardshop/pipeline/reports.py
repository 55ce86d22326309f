"""Workers' reports: step changes, progress ticks and log lines, as durable messages.

Each run of a task (a delivery of its message to a worker) has a random run
id and numbers its reports 1, 2, 3...; the monitor applies each report once,
in order, and ignores the stale run's when a task was taken over. RabbitMQ
stamps every report with the sender's username (the validated `user_id`
property), which the monitor checks against the task's owner.
"""

import collections
import datetime
import itertools
import logging
import threading
import time
import uuid

import amqp.exceptions

from cardshop import faults
from cardshop.pipeline import topology
from cardshop.validation import ID_PATTERN

log = logging.getLogger(__name__)

# Blocks while the broker is away rather than losing a report.
_RETRY_FOREVER = {"max_retries": None, "interval_start": 0.5, "interval_step": 1, "interval_max": 5}

REPORT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["task", "run", "seq", "type", "at"],
    "properties": {
        "task": {"type": "string", "pattern": ID_PATTERN},
        "run": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "seq": {"type": "integer", "minimum": 1},
        "type": {"enum": ["status", "progress", "log"]},
        "at": {"type": "string", "maxLength": 40},
        "status": {"type": "string", "maxLength": 40},
        "note": {"type": "string", "maxLength": 4000},
        "result": {"type": "object"},
        "progress": {"type": "object", "additionalProperties": False, "properties": {
            "percent": {"type": "number", "minimum": 0, "maximum": 100},
            "bytes": {"type": "integer", "minimum": 0}, "total": {"type": "integer", "minimum": 0},
            "rate": {"type": "number", "minimum": 0}, "eta": {"type": ["number", "null"], "minimum": 0},
            "step": {"type": "string", "maxLength": 40}}},
        "level": {"enum": ["debug", "info", "warning", "error"]},
        "message": {"type": "string", "maxLength": 8000},
    },
}


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat()


def _revive(producer):
    """A refused publish closes the producer's channel: give it a new one (or let the pool reconnect)."""
    try:
        producer.revive(producer.connection.channel())
    except Exception as exc:  # the connection went too
        log.debug("producer not revived: %s", exc)


class Reporter:
    """Reports for one run of one task, sent through `app`'s producer pool.

    Reports are numbered and published in one order (the monitor ignores a
    report numbered below one it applied). A report the broker refuses for
    now is sent again with faults.Backoff; each caller returns once its own
    report is out, so a status is never lost. No lock is held while waiting
    between tries: another thread's reports queue behind the refused one, and
    its progress ticks are skipped meanwhile (the next tick says it again).
    """

    def __init__(self, app, username, task_id, run=None):
        self.app = app
        self.username = username
        self.task_id = task_id
        self.run = run or uuid.uuid4().hex
        self._seq = itertools.count(1)
        self.last_seq = 0
        self._lock = threading.Lock()  # numbering and the outbox
        self._publishing = threading.Lock()  # one publish at a time, the outbox's head first
        self._outbox = collections.deque()  # numbered, not taken by the broker yet
        self._published = 0  # the last seq the broker took
        self._refused = False  # the outbox's head was refused and waits for a retry

    def _send(self, kind, **fields):
        with self._lock:
            if kind == "progress" and self._refused:
                return None
            self.last_seq = next(self._seq)
            body = {"task": self.task_id, "run": self.run, "seq": self.last_seq, "type": kind,
                    "at": _now(), **fields}
            self._outbox.append(body)
        self._deliver(body["seq"])
        return body["seq"]

    def _deliver(self, seq):
        """Publish the outbox in order until report `seq` is out (sent by this thread or another)."""
        waits = faults.Backoff()
        while True:
            with self._publishing:
                while True:
                    with self._lock:
                        if self._published >= seq:
                            return
                        head = self._outbox[0]
                    accepted = self._publish(head)
                    with self._lock:
                        self._refused = not accepted
                        if not accepted:
                            break
                        self._outbox.popleft()
                        self._published = head["seq"]
            waits.wait()  # without a lock: other threads queue their reports meanwhile

    def _publish(self, body):
        """True once the broker took `body`. False when it refused it for now.

        The broker asks the scheduler who may log in and publish; while the
        scheduler is away and the broker's cached answer has expired, it refuses
        (403). A report is never dropped: the caller waits and sends it again.
        """
        try:
            with self.app.producer_pool.acquire(block=True) as producer:
                try:
                    producer.publish(body, exchange=topology.account_exchange(self.username), routing_key=topology.REPORT_KEY,
                                     declare=[], serializer="json", delivery_mode=2, user_id=self.username,
                                     retry=True, retry_policy=_RETRY_FOREVER)
                except amqp.exceptions.AccessRefused:
                    _revive(producer)
                    raise
            return True
        except amqp.exceptions.AccessRefused as exc:
            log.warning("report %s of task %s refused by the broker for now; sending it again: %s",
                        body["seq"], self.task_id, exc)
            return False

    def status(self, status, note=None, result=None):
        fields = {"status": status}
        if note:
            fields["note"] = note[:4000]
        if result is not None:
            fields["result"] = result
        return self._send("status", **fields)

    def progress(self, step, done, total, rate, eta=None):
        percent = min(100.0, 100.0 * done / total) if total else 0.0
        return self._send("progress", progress={"step": step, "percent": round(percent, 2), "bytes": int(done),
                                                "total": int(total), "rate": round(float(rate), 1),
                                                "eta": None if eta is None else round(float(eta), 1)})

    def log(self, message, level="info"):
        return self._send("log", level=level, message=message[:8000])


def retry_teller(reporter, progress=None):
    """A faults.Retry `say` for a task's job: the long form (with the cause) to the worker's log and the
    task's log, the short one as the task's progress step, through `progress` (the reporter's by default)."""
    progress = progress or reporter.progress

    def say(short, long):
        log.warning("%s", long)
        reporter.log(long, level="warning")
        progress(short[:40], 0, 0, 0)
    return say


# A rate measured over less time than this says nothing (the last block of a small file: GB/s); it is
# reported as 0, unknown, and no time left is guessed from it.
MIN_RATE_INTERVAL = 1.0


def moving_rate(moved, seconds):
    """Bytes per second of `moved` bytes over `seconds`, or 0 (unknown) over too short a time."""
    return moved / seconds if seconds >= MIN_RATE_INTERVAL else 0.0


class Ticker:
    """Progress reports for one step, at most every `interval` seconds (and at the end).

    `offset` bytes of the step were done before this ticker (earlier files of an upload), and the first
    call may count bytes done before it too (a resumed download's .part): the rate is what moves from
    the first call on, never those bytes over the few milliseconds since.
    """

    def __init__(self, reporter, step, cancel, interval=1.0, offset=0, total=None):
        self.reporter, self.step, self.cancel = reporter, step, cancel
        self.interval, self.offset, self.total = interval, offset, total
        self.last = time.monotonic()
        self.since = None  # (time, overall bytes) of the first call

    def __call__(self, done, total):
        self.cancel.check()
        now = time.monotonic()
        overall_total = self.total or total
        overall = self.offset + done
        if self.since is None:
            self.since = (now, overall)
        if now - self.last >= self.interval or overall >= overall_total:
            self.last = now
            rate = moving_rate(overall - self.since[1], now - self.since[0])
            eta = max(overall_total - overall, 0) / rate if rate > 0 else None
            self.reporter.progress(self.step, overall, overall_total, rate, eta)
