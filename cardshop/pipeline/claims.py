"""Claims: a worker asks for a delivered task, and starts real work only once the monitor accepts.

See docs/decisions/claims.md. Every publication of a task carries a fresh
`grant` that only the message's recipient sees; the task document keeps its
SHA-256. The worker sends a claim request to its own exchange (`from.<user>`,
key `claim`, RabbitMQ stamps `user_id`) with direct reply-to, and waits for
`accepted`, `refused` or `wait`. No answer (the monitor is away or behind)
means ask again: a claim is delayed, never failed, by a lagging peer. Once
accepted, `Lease` renews the claim every RENEW_EVERY seconds and cancels the
work when a renewal is refused (the task ended or was taken over).
"""

import hashlib
import logging
import secrets
import threading
import time
import uuid

import kombu
import kombu.exceptions

from cardshop import faults
from cardshop.pipeline import topology
from cardshop.pipeline.heartbeat import CARD_SCHEMA, MAX_SLOTS
from cardshop.validation import ID_PATTERN

log = logging.getLogger(__name__)

# This process, as claims name it: a new process on the same slot or host proves the old one gone.
INSTANCE = uuid.uuid4().hex
REPLY_TO = "amq.rabbitmq.reply-to"
ASK_TIMEOUT = 5.0  # seconds to wait for an answer before asking again
RENEW_EVERY = 10.0
LEASE = 30.0  # a claim not renewed for this long (and the monitor up as long) may be taken over
SAY_EVERY = 30.0  # seconds between log lines while a claim waits

ACCEPTED, REFUSED, WAIT = "accepted", "refused", "wait"

REQUEST_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["type", "task", "attempt", "grant", "run", "worker", "instance"],
    "properties": {
        "type": {"const": "claim"},
        "task": {"type": "string", "pattern": ID_PATTERN},
        "attempt": {"type": "integer", "minimum": 1, "maximum": 1000},
        "grant": {"type": "string", "pattern": "^[A-Za-z0-9_-]{16,64}$"},
        "run": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "worker": {"type": "string", "pattern": "^[a-z][a-z0-9_-]{1,31}@[A-Za-z0-9._-]{1,200}$",
                   "x-hint": "must be <username>@<host>"},
        "instance": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "renew": {"type": "boolean"},
        "slot": {"type": "integer", "minimum": 1, "maximum": MAX_SLOTS},
        "card": CARD_SCHEMA,
    },
}

REPLY_SCHEMA = {
    "type": "object",
    "required": ["task", "run", "decision"],
    "properties": {
        "task": {"type": "string"}, "run": {"type": "string"},
        "decision": {"enum": [ACCEPTED, REFUSED, WAIT]},
        "reason": {"type": "string"}, "retry_after": {"type": "number", "minimum": 0},
    },
}


def new_grant():
    """A publication's secret: only the message carries it."""
    return secrets.token_urlsafe(24)


def grant_digest(grant):
    return hashlib.sha256(grant.encode()).hexdigest()


class ClaimRefused(Exception):
    """The monitor refused the claim: drop the message, do nothing irreversible."""


class ClaimClient:
    """One worker process's claims, over one connection of its own (requests are serialized)."""

    def __init__(self, app, username, host):
        self.app = app
        self.username = username
        self.worker = f"{username}@{host}"
        self._lock = threading.Lock()
        self._connection = None
        self._channel = None
        self._replies = {}

    # -- one request, one answer ------------------------------------------

    def _open(self):
        connection = self.app.connection_for_write()
        connection.ensure_connection(max_retries=1)
        channel = connection.channel()
        consumer = kombu.Consumer(channel, queues=[kombu.Queue(REPLY_TO, no_declare=True)], no_ack=True,
                                  on_message=self._on_reply, accept=["json"])
        consumer.consume()  # direct reply-to: consume before publishing on the same channel
        self._connection, self._channel = connection, channel

    def _close(self):
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None:
            try:
                connection.close()
            except Exception as exc:  # already gone with the broker
                log.debug("claims connection not closed cleanly: %s", exc)

    def _on_reply(self, message):
        correlation = message.properties.get("correlation_id")
        if correlation in self._replies:
            try:
                self._replies[correlation] = message.decode()
            except Exception as exc:  # a broken answer is no answer: ask again
                log.warning("unreadable claim answer: %s", exc)

    def ask(self, body, timeout=ASK_TIMEOUT):
        """Send one request; the answer (a dict), or None when none came in `timeout` seconds."""
        correlation = uuid.uuid4().hex
        with self._lock:
            try:
                if self._connection is None:
                    self._open()
                self._replies[correlation] = None
                producer = kombu.Producer(self._channel)
                producer.publish(body, exchange=topology.account_exchange(self.username),
                                 routing_key=topology.CLAIM_KEY, declare=[], serializer="json",
                                 reply_to=REPLY_TO, correlation_id=correlation, user_id=self.username,
                                 expiration=topology.CLAIM_REQUEST_TTL_MS / 1000)
                deadline = time.monotonic() + timeout
                while self._replies[correlation] is None and time.monotonic() < deadline:
                    try:
                        self._connection.drain_events(timeout=max(0.01, deadline - time.monotonic()))
                    except TimeoutError:
                        pass
                return self._replies[correlation]
            except (kombu.exceptions.OperationalError, OSError, ConnectionError) as exc:
                log.warning("claims: broker connection lost (%s); asking again", exc)
                self._close()
                return None
            except Exception as exc:  # a channel error (the account's exchange not declared yet, ...)
                log.warning("claims: request not sent (%s); asking again", exc)
                self._close()
                return None
            finally:
                self._replies.pop(correlation, None)

    # -- the protocol -----------------------------------------------------

    def request(self, payload, run, slot=None, card=None, renew=False):
        body = {"type": "claim", "task": payload["task"], "attempt": payload.get("attempt") or 1,
                "grant": payload.get("grant") or "", "run": run, "worker": self.worker, "instance": INSTANCE}
        if renew:
            body["renew"] = True
        if slot is not None:
            body["slot"] = slot
        if card is not None:
            body["card"] = card
        return body

    def claim(self, payload, run, cancel, slot=None, card=None, waiting=None):
        """Until the monitor decides: the accepted answer, or ClaimRefused. `waiting(text)` hears why it waits."""
        body = self.request(payload, run, slot, card)
        waits, said = faults.Backoff(most=10, stop=cancel), 0.0
        while True:
            cancel.check()
            answer = self.ask(body)
            decision = (answer or {}).get("decision")
            if decision == ACCEPTED and answer.get("run") == run:
                return answer
            if decision == REFUSED:
                raise ClaimRefused(str(answer.get("reason") or "refused")[:500])
            if decision == WAIT:  # the monitor answered: it says when to ask again
                waits.reset()
                pause = min(max(float(answer.get("retry_after") or 5), 1), 15)
                text = f"task {payload['task']}: {answer.get('reason') or 'held by another run'}; asking again"
            else:
                pause = waits.next()
                text = f"task {payload['task']}: no answer to the claim yet (the monitor is away or behind)"
            if time.monotonic() - said >= SAY_EVERY:
                said = time.monotonic()
                log.warning("%s", text)
                if waiting is not None:
                    waiting(text)
            waits.sleep(pause)  # a cancel ends it, and the loop's first line raises Canceled

    def lease(self, payload, run, cancel, slot=None, card=None):
        return Lease(self, self.request(payload, run, slot, card, renew=True), cancel)

    def close(self):
        with self._lock:
            self._close()


class Lease:
    """Renew an accepted claim while the work runs; a refused renewal cancels the work."""

    def __init__(self, client, body, cancel, every=RENEW_EVERY):
        self.client, self.body, self.cancel, self.every = client, body, cancel, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"lease-{body['task']}", daemon=True)

    def _loop(self):
        while not self._stop.wait(self.every):
            answer = self.client.ask(self.body)
            if (answer or {}).get("decision") == REFUSED:
                reason = f"claim lost: {answer.get('reason') or 'refused'}"
                log.warning("task %s: %s; stopping", self.body["task"], reason)
                self.cancel.cancel(reason)
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=1)
