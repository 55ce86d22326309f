"""Cancel messages: the scheduler broadcasts `{"task": id}`; workers stop that task.

Workers listen on an exclusive, server-named queue bound to the `cancel`
fanout exchange (the broker lets workers declare such queues and bind them
to `cancel`, nothing else). A cancel for a task that has not started yet is
remembered for a while, so it is stopped as soon as it starts.
"""

import collections
import logging
import threading

from kombu import Queue
from kombu.mixins import ConsumerMixin

from cardshop import faults
from cardshop.cancellable import CancelToken
from cardshop.pipeline.topology import CANCEL_EXCHANGE, CANCEL_EXCHANGE_AS_WORKER

log = logging.getLogger(__name__)

# Workers may not declare it; a passive declare only checks that it exists.
REMEMBERED = 1000


def publish_cancel(app, task_id, reason="canceled"):
    """Broadcast a cancel (system user: it may declare the exchange)."""
    with app.producer_pool.acquire(block=True, timeout=10) as producer:
        producer.publish({"task": task_id, "reason": reason}, exchange=CANCEL_EXCHANGE, routing_key="",
                         declare=[CANCEL_EXCHANGE], serializer="json", retry=True,
                         retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.5})


class CancelListener(faults.Stoppable, ConsumerMixin):
    def __init__(self, app):
        self.connection = app.connection_for_read()
        self._tokens = {}
        self._recent = collections.OrderedDict()
        self._lock = threading.Lock()
        self.ready = threading.Event()
        self.thread = None
        # A cancel broadcast while it is down reaches no one: come back soon, then at most every 30 s.
        self._restarts = faults.Backoff(first=1, most=30, stop=self.stopping)

    def register(self, task_id):
        """A token for a task starting now; already fired if a cancel came first."""
        token = CancelToken()
        with self._lock:
            self._tokens[task_id] = token
            if task_id in self._recent:
                token.cancel(self._recent[task_id])
        return token

    def unregister(self, task_id):
        with self._lock:
            self._tokens.pop(task_id, None)

    def get_consumers(self, Consumer, channel):
        queue = Queue("", CANCEL_EXCHANGE_AS_WORKER, exclusive=True, auto_delete=True, durable=False)
        return [Consumer(queues=[queue], callbacks=[self.on_message], accept=["json"], no_ack=True)]

    def on_consume_ready(self, connection, channel, consumers, **kwargs):
        self._restarts.reset()
        self.ready.set()

    def on_message(self, body, message):
        task_id = body.get("task") if isinstance(body, dict) else None
        if not isinstance(task_id, str):
            return
        reason = str(body.get("reason") or "canceled")[:500]
        with self._lock:
            self._recent[task_id] = reason
            while len(self._recent) > REMEMBERED:
                self._recent.popitem(last=False)
            token = self._tokens.get(task_id)
        if token is not None:
            log.info("task %s canceled: %s", task_id, reason)
            token.cancel(reason)

    def _run_forever(self):
        while not self.should_stop:
            try:
                self.run()
            except Exception as exc:  # channel errors (e.g. no cancel exchange yet) end run()
                self.ready.clear()
                delay = self._restarts.next()
                log.warning("cancel listener stopped (%s); restart %d in %.0f s", exc, self._restarts.attempt, delay)
                self._restarts.sleep(delay)

    def start(self):
        self.thread = threading.Thread(target=self._run_forever, name="cancel-listener", daemon=True)
        self.thread.start()

    def stop(self):
        self.should_stop = True
