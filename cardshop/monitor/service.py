"""The monitor's loop: consume reports and worker events, write them, then acknowledge.

A report is acknowledged only after its database write, so nothing is lost
while the database or the monitor is down: the reports wait in RabbitMQ.
"""

import logging
import time
import uuid

import pymongo.errors
from kombu import Queue
from kombu.mixins import ConsumerMixin

from cardshop.monitor.apply import ReportApplier
from cardshop.domain.cascades import Cascades
from cardshop.monitor.workers import WorkerRegistry
from cardshop.pipeline import topology
from cardshop.pipeline.reports import REPORT_SCHEMA
from cardshop.validation import Validator

log = logging.getLogger(__name__)



class Monitor(ConsumerMixin):
    def __init__(self, app, db, publisher=None, prefetch=200, on_ready=None, writer_timeout=90):
        self.app = app
        self.connection = app.connection_for_read()
        self.db = db
        self.prefetch = prefetch
        self.applier = ReportApplier(db, Cascades(db, publisher, writer_timeout))
        self.registry = WorkerRegistry(db)
        self.validator = Validator(REPORT_SCHEMA)
        self.events_queue = Queue(f"monitor.events.{uuid.uuid4().hex[:8]}", topology.EVENTS_EXCHANGE,
                                  routing_key="worker.#", auto_delete=True, durable=False,
                                  queue_arguments={"x-message-ttl": 60000})
        self.on_ready = on_ready
        self.applied = 0
        self._db_backoff = 0.5
        self.last_loop = time.monotonic()  # the watchdog's proof that the loop turns
        # Progress reports waiting to be written: only each run's latest matters, so a
        # burst becomes one write per task. They are acknowledged after that write.
        self._progress = []
        self._progress_since = 0.0
        self.flush_after = max(1, prefetch // 2)

    def get_consumers(self, Consumer, channel):
        topology.declare_all(self.connection)
        return [
            Consumer(queues=[topology.reports_queue()], callbacks=[self.on_report], accept=["json"],
                     prefetch_count=self.prefetch),
            Consumer(queues=[self.events_queue], callbacks=[self.on_event], accept=["json"], no_ack=True),
        ]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        log.info("consuming reports and worker events")
        if self.on_ready:
            self.on_ready()

    def on_connection_error(self, exc, interval):
        log.warning("broker connection lost (%s); retrying in %.0f s", exc, interval)

    def on_iteration(self):
        self.last_loop = time.monotonic()
        if self._progress and (len(self._progress) >= self.flush_after
                               or time.monotonic() - self._progress_since > 0.05):
            self.flush_progress()

    def _database_down(self, exc, messages):
        """Keep the reports in RabbitMQ and slow down until the database is back."""
        log.warning("database unavailable (%s); %d report(s) requeued", exc, len(messages))
        for message in messages:
            message.requeue()
        time.sleep(self._db_backoff)
        self._db_backoff = min(self._db_backoff * 2, 10)

    def flush_progress(self):
        pending, self._progress = self._progress, []
        latest = {}
        for body, sender, _ in pending:
            key = (body["task"], body["run"], sender)
            if key not in latest or body["seq"] > latest[key][0]["seq"]:
                latest[key] = (body, sender)
        try:
            for body, sender in latest.values():
                self.applier.apply(body, sender)
        except pymongo.errors.PyMongoError as exc:
            self._database_down(exc, [message for _, _, message in pending])
            return
        self._db_backoff = 0.5
        for _, _, message in pending:
            message.ack()
        self.applied += len(pending)

    def on_report(self, body, message):
        sender = message.properties.get("user_id")
        error = self.validator.first_error(body)
        if error:
            log.warning("dropped a malformed report from %r: %s", sender, error)
            message.ack()
            return
        if body["type"] == "progress":
            if not self._progress:
                self._progress_since = time.monotonic()
            self._progress.append((body, sender, message))
            if len(self._progress) >= self.flush_after:
                self.flush_progress()
            return
        if self._progress:  # keep the order: earlier progress first
            self.flush_progress()
        try:
            outcome = self.applier.apply(body, sender)
        except pymongo.errors.PyMongoError as exc:
            self._database_down(exc, [message])
            return
        self._db_backoff = 0.5
        message.ack()
        self.applied += 1
        log.debug("report %s:%s #%d from %s: %s", body["task"], body["type"], body["seq"], sender, outcome)

    def on_event(self, body, message):
        try:
            self.registry.on_event(body)
        except pymongo.errors.PyMongoError as exc:
            log.warning("database unavailable; worker event dropped: %s", exc)
