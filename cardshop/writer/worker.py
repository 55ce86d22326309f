"""A writer slot's Celery worker: consumes `write.<user>` only while its card is ready.

One process per slot (writer@<slot>). A consumer bootstep follows the slot's
state from the worker's event loop: it consumes the host's queue while the
slot is `ready` and cancels the consumer otherwise, so tasks wait in RabbitMQ
rather than in a slot without a fresh card (prefetch 1, acks late). A task
that reaches a slot whose card went meanwhile, whose card fails, or that drains,
is rejected with requeue; the slot waits until the consumer is cancelled before
handing the message back, so the same card never takes it again.
"""

import logging
import socket
import threading
import uuid

import amqp.exceptions
from celery import bootsteps
from celery.exceptions import Reject
from celery.signals import task_received

from cardshop.client import TokenSource
from cardshop.config import read_secret
from cardshop.pipeline import topology
from cardshop.cancellable import Canceled
from cardshop.pipeline.cancel import CancelListener
from cardshop.pipeline.claims import ClaimClient, ClaimRefused
from cardshop.pipeline.celery_app import make_celery, worker_queue_for
from cardshop.pipeline.reports import Reporter
from cardshop.writer.images import ImageCache
from cardshop.writer.job import Requeue, WriteJob

log = logging.getLogger(__name__)

SYNC_INTERVAL = 0.2  # seconds between the event loop's looks at the slot's state
QUEUE_LOOK = 2.0  # seconds between looks for the host's queue before its first task


class ConsumerGate:
    """Whether the worker consumes the write queue; changed only from the worker's event loop."""

    def __init__(self, slot, queue_name):
        self.slot = slot
        self.queue_name = queue_name
        self.consumer = None
        self.consuming = False
        self._synced = threading.Condition()
        self.queue_exists = False
        self._deliveries = []  # Celery requests received and not yet acknowledged or handed back
        self._deliveries_lock = threading.Lock()

    def attach(self, consumer):
        """A (re)started consumer: its task consumer holds the queue until the first sync."""
        self.consumer = consumer
        self.consuming = any(queue.name == self.queue_name for queue in consumer.task_consumer.queues)
        self.sync()

    def sync(self):
        consumer = self.consumer
        if consumer is None or consumer.task_consumer is None:
            return
        wanted = self.slot.takes_tasks()
        if wanted and not self.consuming:
            if not self.queue_exists:
                return  # consuming a queue that is not there would close the channel
            consumer.add_task_queue(self.queue_name)
            log.info("slot %s: consuming %s", self.slot.number, self.queue_name)
        elif not wanted and self.consuming:
            consumer.cancel_task_queue(self.queue_name)
            log.info("slot %s: not consuming (%s)", self.slot.number, self.slot.state)
        self.consuming = wanted
        with self._synced:
            self._synced.notify_all()

    def look_for_queue(self, app, stop):
        """Until the host's queue exists (the scheduler declares it with the host's first task): a
        passive declare now and then, on a connection of this thread (never the event loop's)."""
        while not stop.is_set():
            try:
                with app.connection_for_read() as connection:
                    connection.default_channel.queue_declare(self.queue_name, passive=True)
                self.queue_exists = True
                return
            except amqp.exceptions.NotFound:
                log.debug("slot %s: no queue %s yet", self.slot.number, self.queue_name)
            except Exception as exc:  # the broker is away: look again later
                log.warning("slot %s: cannot look for queue %s: %s", self.slot.number, self.queue_name, exc)
            stop.wait(QUEUE_LOOK)

    def wait_synced(self, timeout=10):
        """Until the consumer follows the slot's state: a message is handed back or acknowledged only
        once a card that takes nothing more is no longer consumed for."""
        with self._synced:
            return self._synced.wait_for(
                lambda: self.consumer is None or self.consuming == self.slot.takes_tasks(), timeout)

    def takes_deliveries(self):
        """Whether the broker may hand this slot a message now (a lost connection consumes nothing)."""
        return self.consumer is not None and self.consuming

    def received(self, request, **_):
        """Celery's task_received: the slot holds this delivery until it is acknowledged or handed back."""
        with self._deliveries_lock:
            self._deliveries.append(request)

    def holding(self):
        """Whether a delivery is unsettled: received but not yet run, or run and not yet acknowledged (Celery
        forgets a request just before it acknowledges it: a slot stopped then would see its task again)."""
        with self._deliveries_lock:
            self._deliveries = [request for request in self._deliveries if not request.acknowledged]
            return bool(self._deliveries)


def gate_step(gate):
    class FollowTheCard(bootsteps.StartStopStep):
        """Consume the write queue only while the slot holds a ready card."""

        requires = ("celery.worker.consumer.tasks:Tasks",)

        def __init__(self, parent, **kwargs):
            super().__init__(parent, **kwargs)
            self.timer = None

        def start(self, parent):
            gate.attach(parent)
            # At every start: the consumer's restart after a connection loss clears its timer.
            self.timer = parent.timer.call_repeatedly(SYNC_INTERVAL, gate.sync)

        def stop(self, parent):
            gate.consumer = None
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None

    return FollowTheCard


def build_worker(config, slot):
    broker = config["broker"]
    username = broker["username"]
    queue = worker_queue_for("write", username)
    app = make_celery(broker, "cardshop-writer", worker_queues=[queue])
    settings = config["writer"]
    tokens = TokenSource(config["scheduler"]["api_url"], username,
                         read_secret(broker["password_file"], "broker.password_file"),
                         ca_file=config["scheduler"].get("ca_file"))
    cache = ImageCache(settings["cache_dir"], settings["cache_max_bytes"])
    listener = CancelListener(app)
    claims = ClaimClient(app, username, socket.gethostname())
    gate = ConsumerGate(slot, queue.name)
    app.steps["consumer"].add(gate_step(gate))
    task_received.connect(gate.received, weak=False)
    ca_file = config["warehouse"].get("ca_file")

    @app.task(name=topology.WRITE_TASK, bind=True, acks_late=True)
    def write(self, **payload):
        task_id = payload["task"]
        if not slot.take():
            # The card went (or failed), or a drain began, between the consumer's last look and this delivery.
            gate.wait_synced()
            why = "drains" if slot.draining else "holds no ready card"
            log.info("slot %s: task %s handed back to the queue: the slot %s", slot.number, task_id, why)
            raise Reject(f"slot {slot.number} {why}", requeue=True)
        cancel = listener.register(task_id)
        try:
            run, card = uuid.uuid4().hex, slot.card
            card = {"size": card.size, "serial": card.serial}
            try:  # the card stays blank until the claim is accepted (docs/decisions/claims.md)
                claims.claim(payload, run, cancel, slot=slot.number, card=card,
                             waiting=lambda text: slot.progress("waiting"))
            except (ClaimRefused, Canceled) as exc:
                log.info("slot %s: task %s not written (%s); message dropped, the card stays blank",
                         slot.number, task_id, exc)
                slot.untouched()
                return "refused"
            reporter = Reporter(app, username, task_id, run=run)
            with claims.lease(payload, run, cancel, slot=slot.number, card=card):
                return WriteJob(slot, settings, reporter, tokens, cache, cancel, username, ca_file).run(payload)
        except Requeue as exc:
            gate.wait_synced()
            raise Reject(str(exc), requeue=True) from None
        finally:
            listener.unregister(task_id)
            gate.wait_synced()  # acknowledge only once this card takes nothing more

    return app, listener, cache, gate
