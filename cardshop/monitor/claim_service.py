"""The claim service: a thread of the monitor answering claim requests (monitor/claims.py decides).

It has its own broker connection and consumes every worker account's
`claims.<user>` queue, so a backlog of reports never delays a claim. Each
request is answered on its `reply_to` (direct reply-to) with its
`correlation_id`, then acknowledged. A request that cannot be decided now
(the database is away) is acknowledged unanswered: its worker asks again.
"""

import logging
import threading
import time

import kombu
from kombu.mixins import ConsumerMixin

from cardshop import faults
from cardshop.monitor import intake
from cardshop.pipeline import topology
from cardshop.pipeline.claims import REQUEST_SCHEMA
from cardshop.validation import Validator

log = logging.getLogger(__name__)

_REQUEST = Validator(REQUEST_SCHEMA)


class ClaimService(faults.Stoppable, ConsumerMixin):
    def __init__(self, app, decider, accounts, count_drop, count_claim):
        self.connection = app.connection_for_write()
        self.decider = decider
        self.accounts = accounts  # monitor.service.Accounts: the reports thread declares their queues
        self.count_drop = count_drop  # (why, sender, detail): the monitor's drop counter
        self.count_claim = count_claim  # (decision): the monitor's claim counter
        self.answered = 0
        self._consumer = None
        self._producer = None
        self._consuming = set()
        self.thread = None
        self.last_loop = time.monotonic()  # the watchdog's proof that this loop turns too
        self._restarts = faults.Backoff(most=30, stop=self.stopping)  # after a bug ended run()

    def get_consumers(self, Consumer, channel):
        self._producer = kombu.Producer(channel)
        self._consuming = set(self.accounts.declared)
        queues = [topology.account_queues(name)[1] for name in sorted(self._consuming)]
        self._consumer = Consumer(queues=queues, on_message=self.on_message, prefetch_count=20)
        return [self._consumer]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self._restarts.reset()

    def on_iteration(self):
        self.last_loop = time.monotonic()
        for name in sorted(set(self.accounts.declared) - self._consuming):
            self._consuming.add(name)
            self._consumer.add_queue(topology.account_queues(name)[1])
            self._consumer.consume()

    def on_connection_error(self, exc, interval):
        log.warning("claims: broker connection lost (%s); retrying in %.0f s", exc, interval)

    def on_message(self, message):
        sender = message.properties.get("user_id")
        reply_to, correlation = message.properties.get("reply_to"), message.properties.get("correlation_id")
        try:
            request = intake.read(message, max_body=4096)
            error = _REQUEST.first_error(request)
            if error:
                raise intake.Unusable("malformed", error)
            if not sender or not reply_to:
                raise intake.Unusable("anonymous", "no user_id or no reply_to")
        except intake.Unusable as exc:
            self.count_drop(exc.why, sender, f"claim: {exc}")
            message.ack()
            return
        started = time.monotonic()
        try:
            answer = self.decider.decide(request, sender)
        except Exception as exc:  # the database is away, or a bug: no answer; the worker asks again
            log.warning("claim of task %s by %s not decided: %s", request["task"], sender, exc)
            message.ack()
            return
        self._producer.publish(answer, exchange="", routing_key=reply_to, correlation_id=correlation,
                               serializer="json", delivery_mode=1, retry=False)
        message.ack()
        self.answered += 1
        self.count_claim(answer["decision"])
        try:
            self.decider.follow_orders()
        except Exception:  # the order catches up with its next report's cascade, or the beat's reconcile
            log.exception("order of a claimed task not moved")
        log.log(logging.INFO if not request.get("renew") or answer["decision"] != "accepted" else logging.DEBUG,
                "claim of task %s by %s (run %s%s): %s%s in %.0f ms", request["task"], request["worker"],
                request["run"][:8], ", renewal" if request.get("renew") else "", answer["decision"],
                f" ({answer['reason']})" if answer.get("reason") else "", 1000 * (time.monotonic() - started))

    def start(self):
        self.thread = threading.Thread(target=self._run_forever, name="claims", daemon=True)
        self.thread.start()

    def _run_forever(self):
        while not self.should_stop:
            try:
                self.run()
            except Exception:  # a bug must not end the claims thread for good
                delay = self._restarts.next()
                log.exception("claim service stopped; restart %d in %.0f s", self._restarts.attempt, delay)
                self._restarts.sleep(delay)

    def stop(self):
        self.should_stop = True
        if self.thread is not None:
            self.thread.join(timeout=5)
