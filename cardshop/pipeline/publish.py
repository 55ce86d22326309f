"""Publish a task document's message. The document is always saved first.

Each publication carries a fresh grant (pipeline/claims.py): its digest is
written on the task before the message goes, so the message's recipient can
claim the task at once and a copy of an earlier publication is refused. A
publish that fails (broker down) leaves `published_at` empty; the beat
republishes such tasks, so a task is never lost, only late.
"""

import logging

import amqp.exceptions
import kombu.exceptions

from cardshop.pipeline import topology
from cardshop.pipeline.cancel import publish_cancel
from cardshop.pipeline.claims import grant_digest, new_grant
from cardshop.store import now, orders, tasks, warehouses

log = logging.getLogger(__name__)

_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def task_payload(db, task):
    """What the worker needs, in the message: workers never read the database."""
    order = orders.find(db, task["order"])
    warehouse = warehouses.find(db, order["warehouse"]) or {}
    payload = {"task": task["_id"], "order": order["_id"], "attempt": task.get("attempt", 1),
               "warehouse": {"name": warehouse.get("name"), "upload_url": warehouse.get("upload_url"),
                             "download_url": warehouse.get("download_url")}}
    if task["kind"] == "create":
        payload.update(recipe=order["recipe"], image_name=orders.image_name(order),
                       card_size=order["sd_card"]["size"])
    else:
        payload.update(image=order.get("image"), slot_hint=task.get("slot"))
    return payload


def queue_of(task):
    """The queue a task's message goes to: `create`, or its writer host's."""
    return topology.create_queue() if task["kind"] == "create" else topology.write_queue(task["writer"])


class Publisher:
    def __init__(self, app, db):
        self.app = app
        self.db = db

    def publish(self, task):
        """Send the task's message; True once the broker confirmed it."""
        grant = new_grant()
        try:
            payload = {**task_payload(self.db, task), "grant": grant}
            if not tasks.set_grant(self.db, task["_id"], grant_digest(grant)):
                log.info("task %s is no longer queued; not published", task["_id"])
                return False
            queue = queue_of(task)
            name = topology.CREATE_TASK if task["kind"] == "create" else topology.WRITE_TASK
            # send_task declares the queue inside the publish it retries: a pooled connection the broker
            # closed (a restart) is opened again for both, where a declare of our own failed unretried.
            with self.app.producer_pool.acquire(block=True, timeout=10) as producer:
                self.app.send_task(name, kwargs=payload, task_id=task["_id"], queue=queue,
                                   exchange=queue.exchange, routing_key=queue.routing_key,
                                   producer=producer, retry=True, retry_policy=_RETRY)
        except (kombu.exceptions.OperationalError, OSError) as exc:
            log.warning("could not publish task %s (it waits for the beat): %s", task["_id"], exc)
            return False
        tasks.mark_published(self.db, task["_id"], now())
        log.info("published %s task %s", task["kind"], task["_id"])
        return True

    def message_count(self, queue_name):
        """The messages ready in the queue (0 when it does not exist), or None when the broker cannot say."""
        try:
            with self.app.connection_for_write() as connection:
                channel = connection.default_channel
                return channel.queue_declare(queue_name, passive=True).message_count
        except amqp.exceptions.NotFound:
            return 0
        except (kombu.exceptions.OperationalError, OSError, amqp.exceptions.AMQPError) as exc:
            log.warning("could not count the messages in queue %s: %s", queue_name, exc)
            return None

    def cancel(self, task_id, reason="canceled"):
        """Tell the workers to stop a task; False when the broker cannot be reached."""
        try:
            publish_cancel(self.app, task_id, reason)
            return True
        except (kombu.exceptions.OperationalError, OSError) as exc:
            log.warning("could not broadcast the cancel of task %s: %s", task_id, exc)
            return False
