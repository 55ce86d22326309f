"""Workers' liveness: a heartbeat every few seconds, as a message on the `reports` exchange.

Workers send no Celery events (they would need rights on Celery's `celeryev`
exchange, which any worker could then delete or redeclare). A heartbeat goes
where reports go, so RabbitMQ stamps it with the sender's username (the
validated `user_id`), and the monitor files it under `<username>@<host>`.
"""

import datetime
import logging
import re
import threading

from cardshop.pipeline import topology
from cardshop.validation import ID_PATTERN

log = logging.getLogger(__name__)

TYPE = "heartbeat"
MAX_SLOTS = 64
MAX_CARD_BYTES = 2 ** 50  # 1 PiB: no card is larger
SLOT_STATES = ("no_reader", "empty", "checking", "ready", "busy", "done", "failed", "refused")
FREE_STATES = ("ready", "empty")  # slots that can take (or soon take) a task
# What a busy slot does; the writer puts any other word (a retry's "warehouse unreachable…") in its message.
SLOT_STEPS = ("received", "downloading", "writing", "verifying", "waiting")
SERIAL = {"type": ["string", "null"], "pattern": "^[A-Za-z0-9._:+-]{1,128}$",
          "x-hint": "must be 1-128 letters, digits or ._:+-"}
CARD_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["size"], "properties": {
    "size": {"type": "integer", "minimum": 0, "maximum": MAX_CARD_BYTES}, "serial": SERIAL}}


def _nullable(schema):
    return {"anyOf": [{"type": "null"}, schema]}


# A writer slot's state, in each heartbeat of its writer@<slot> process (worker `<user>@<host>.slot-<N>`).
SLOT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["number", "state"],
    "properties": {
        "number": {"type": "integer", "minimum": 1, "maximum": MAX_SLOTS},
        "state": {"enum": list(SLOT_STATES)},
        "message": {"type": ["string", "null"], "maxLength": 500},
        "card": _nullable(CARD_SCHEMA),
        "task": {"type": ["string", "null"], "pattern": ID_PATTERN, "x-hint": "must be a task id or null"},
        "order": {"type": ["string", "null"], "pattern": ID_PATTERN, "x-hint": "must be an order id or null"},
        "step": {"enum": [None, *SLOT_STEPS]},
        "percent": {"type": ["number", "null"], "minimum": 0, "maximum": 100},
        "rate": {"type": ["number", "null"], "minimum": 0, "maximum": 10 ** 12},
    },
}
WORKER_PATTERN = "^[a-z][a-z0-9_-]{1,31}@[A-Za-z0-9._-]{1,200}$"  # <username>@<host>
_SLOT_NAME = re.compile(r"^(?P<host>.+)\.slot-(?P<number>[1-9][0-9]?)$")


def slot_of(worker):
    """(host, slot number) of a slot worker's name `<user>@<host>.slot-<N>`, else (host part, None)."""
    host = worker.partition("@")[2]
    found = _SLOT_NAME.match(host)
    return (found["host"], int(found["number"])) if found else (host, None)


HEARTBEAT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "worker", "online", "at"],
    "properties": {
        "type": {"const": TYPE},
        "worker": {"type": "string", "pattern": WORKER_PATTERN,
                   "x-hint": "must be <username>@<host>"},
        "online": {"type": "boolean"},
        "at": {"type": "string", "maxLength": 40},
        "slots": {"type": "integer", "minimum": 0, "maximum": MAX_SLOTS},
        "active": {"type": "integer", "minimum": 0, "maximum": 10000},
        "images": {"type": "array", "maxItems": 1000, "uniqueItems": True,
                   "items": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,255}$"}},
        "software": {"type": "string", "maxLength": 100},
        "slot": SLOT_SCHEMA,
    },
}


class Heartbeat:
    """Send `state()` (slots, images, active tasks...) every `interval` seconds until stopped."""

    def __init__(self, app, username, host, state=dict, interval=15):
        self.app = app
        self.username = username
        self.worker = f"{username}@{host}"
        self.state = state
        self.interval = interval
        self._stop = threading.Event()
        self.thread = None

    def send(self, online=True):
        body = {"type": TYPE, "worker": self.worker, "online": online,
                "at": datetime.datetime.now(datetime.timezone.utc).isoformat(), **self.state()}
        with self.app.producer_pool.acquire(block=True, timeout=10) as producer:
            producer.publish(body, exchange=topology.account_exchange(self.username), routing_key=topology.REPORT_KEY,
                             declare=[], serializer="json", delivery_mode=2, user_id=self.username,
                             retry=True, retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 1})

    def _loop(self):
        while not self._stop.is_set():
            try:
                self.send()
            except Exception as exc:  # the broker is away: the next beat tries again
                log.warning("heartbeat not sent: %s", exc)
            self._stop.wait(self.interval)

    def start(self):
        self.thread = threading.Thread(target=self._loop, name="heartbeat", daemon=True)
        self.thread.start()

    def stop(self):
        """Stop beating and say so (best effort: the monitor also times hosts out)."""
        self._stop.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        try:
            self.send(online=False)
        except Exception as exc:
            log.warning("could not announce going offline: %s", exc)
