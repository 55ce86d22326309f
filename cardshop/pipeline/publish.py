"""Publish a task document's message. The document is always saved first.

A publish that fails (broker down) leaves `published_at` empty; the beat
republishes such tasks, so a task is never lost, only late.
"""

import logging

import kombu.exceptions

from cardshop.pipeline import topology
from cardshop.pipeline.cancel import publish_cancel
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
        payload.update(recipe=order["recipe"], image_name=order.get("auto_image") or order["_id"],
                       card_size=order["sd_card"]["size"])
    else:
        payload.update(image=order.get("image"), slot_hint=task.get("slot"))
    return payload


class Publisher:
    def __init__(self, app, db):
        self.app = app
        self.db = db
        self._declared = set()

    def publish(self, task):
        """Send the task's message; True once the broker confirmed it."""
        try:
            payload = task_payload(self.db, task)
            if task["kind"] == "create":
                queue = topology.create_queue()
                name = topology.CREATE_TASK
            else:
                queue = topology.write_queue(task["writer"])
                name = topology.WRITE_TASK
            with self.app.producer_pool.acquire(block=True, timeout=10) as producer:
                if queue.name not in self._declared:
                    queue(producer.channel).declare()
                    self._declared.add(queue.name)
                self.app.send_task(name, kwargs=payload, task_id=task["_id"], queue=queue,
                                   exchange=queue.exchange, routing_key=queue.routing_key,
                                   producer=producer, retry=True, retry_policy=_RETRY)
        except (kombu.exceptions.OperationalError, OSError) as exc:
            log.warning("could not publish task %s (it waits for the beat): %s", task["_id"], exc)
            return False
        tasks.mark_published(self.db, task["_id"], now())
        log.info("published %s task %s", task["kind"], task["_id"])
        return True

    def cancel(self, task_id, reason="canceled"):
        """Tell the workers to stop a task; False when the broker cannot be reached."""
        try:
            publish_cancel(self.app, task_id, reason)
            return True
        except (kombu.exceptions.OperationalError, OSError) as exc:
            log.warning("could not broadcast the cancel of task %s: %s", task_id, exc)
            return False
