"""The monitor's loop: consume reports and worker events, write them, then acknowledge.

A report is acknowledged only after its database write, so nothing is lost
while the database or the monitor is down: the reports wait in RabbitMQ.
"""

import logging
import threading
import time
import uuid

import pymongo.errors
from kombu import Exchange, Queue
from kombu.mixins import ConsumerMixin

from cardshop.monitor.apply import ReportApplier
from cardshop.monitor.cascades import Cascades
from cardshop.monitor.workers import WorkerRegistry
from cardshop.pipeline import topology
from cardshop.pipeline.reports import REPORT_SCHEMA
from cardshop.validation import Validator

log = logging.getLogger(__name__)

EVENTS_EXCHANGE = Exchange("celeryev", type="topic", durable=True)


class Monitor(ConsumerMixin):
    def __init__(self, app, db, publisher=None, prefetch=200, on_ready=None):
        self.app = app
        self.connection = app.connection_for_read()
        self.db = db
        self.prefetch = prefetch
        self.applier = ReportApplier(db, Cascades(db, publisher))
        self.registry = WorkerRegistry(db)
        self.validator = Validator(REPORT_SCHEMA)
        self.events_queue = Queue(f"monitor.events.{uuid.uuid4().hex[:8]}", EVENTS_EXCHANGE,
                                  routing_key="worker.#", auto_delete=True, durable=False,
                                  queue_arguments={"x-message-ttl": 60000})
        self.on_ready = on_ready
        self.applied = 0
        self._db_backoff = 0.5
        self.stopped = threading.Event()

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

    def on_report(self, body, message):
        sender = message.properties.get("user_id")
        error = self.validator.first_error(body)
        if error:
            log.warning("dropped a malformed report from %r: %s", sender, error)
            message.ack()
            return
        try:
            outcome = self.applier.apply(body, sender)
        except pymongo.errors.PyMongoError as exc:
            # Keep the report in RabbitMQ and slow down until the database is back.
            log.warning("database unavailable (%s); report requeued", exc)
            message.requeue()
            time.sleep(self._db_backoff)
            self._db_backoff = min(self._db_backoff * 2, 10)
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
