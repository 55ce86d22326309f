"""What a task's new status means for its order, and the tasks that follow.

    create task received            -> order creating
    create task done                -> order pending_writer + write tasks (physical)
                                       or order ready (download)
    create task failed              -> order creation_failed, with the reason
    write task past pending         -> order writing
    all write tasks written         -> order pending_shipment
    write task failed               -> order write_failed, with the reason
"""

import datetime
import logging
import time

from cardshop.pipeline.heartbeat import MAX_SLOTS
from cardshop.states import ORDER, IllegalTransition, order_event
from cardshop.states.cascade import FAILED, STARTED
from cardshop.states.tasks import WRITE_TASK
from cardshop.store import now
from cardshop.store.commits import swap
from cardshop.store.documents import new_task
from cardshop.store.transitions import transition

log = logging.getLogger(__name__)

ACTOR = "monitor"


class Cascades:
    def __init__(self, db, publisher=None, writer_timeout=90):
        self.db = db
        self.publisher = publisher
        self.writer_timeout = writer_timeout
        self._recanceled = {}

    def _order_event(self, order_id, event, note=None, extra=None):
        try:
            return transition(self.db.orders, order_id, ORDER, event, ACTOR, note=note, extra=extra)
        except IllegalTransition as exc:
            log.info("order %s: %s", order_id, exc)  # e.g. canceled meanwhile
            return None

    def still_running(self, task):
        """A canceled or timed-out task still reports: broadcast its cancel again (at most every 10 s)."""
        moment = time.monotonic()
        if self.publisher is None or moment - self._recanceled.get(task["_id"], 0) < 10:
            return
        self._recanceled[task["_id"]] = moment
        if len(self._recanceled) > 10000:
            self._recanceled.clear()
        self.publisher.cancel(task["_id"], f"the task was {task['status'].replace('_', ' ')}")

    def after_task_status(self, task, report):
        order_id = task["order"]
        event = order_event(task["kind"], task["status"])
        if event == "create_done_physical":
            self._create_done(task)  # or create_done_download, by the card type
        elif event == "writes_done":
            remaining = self.db.tasks.count_documents(
                {"order": order_id, "kind": "write", "status": {"$nin": ["written", "canceled"]}})
            if remaining == 0:
                self._order_event(order_id, event)
        elif event in FAILED:
            self._order_event(order_id, event, note=task.get("reason"))
        elif event in STARTED:
            order = self.db.orders.find_one({"_id": order_id}, {"status": 1})
            if order and ORDER.allows(order["status"], event):
                self._order_event(order_id, event)

    def _create_done(self, task):
        order = self.db.orders.find_one({"_id": task["order"]})
        if order is None:
            return
        image = task.get("result") or {}
        if order["sd_card"]["type"] == "download":
            ready = self._order_event(order["_id"], "create_done_download", extra={"image": image})
            if ready is not None and order.get("auto_image"):
                self._publish_auto_image(ready)
            return
        updated = self._order_event(order["_id"], "create_done_physical", extra={"image": image})
        if updated is not None:
            self.make_write_tasks(updated)

    def _publish_auto_image(self, order):
        """The stable name now points at this build; the one it replaces expires (and its files go)."""
        name = order["auto_image"]
        previous = swap(self.db.auto_images, name, {"order": order["_id"], "image": order["image"],
                                                   "warehouse": order["warehouse"], "updated_at": now()})
        if previous and previous.get("order") != order["_id"]:
            self._order_event(previous["order"], "expire", note=f"replaced by a newer build of {name}")

    # -- write tasks ------------------------------------------------------

    def live_writers(self):
        """Writer hosts seen recently, with their free slots, most free first."""
        since = now() - datetime.timedelta(seconds=self.writer_timeout)
        hosts = list(self.db.workers.find({"role": "writer", "online": True, "last_seen": {"$gte": since}}))
        for host in hosts:
            busy = self.db.tasks.count_documents(
                {"kind": "write", "writer": host["username"],
                 "status": {"$nin": sorted(WRITE_TASK.ended)}})
            host["free"] = max(0, _slots(host) - busy)
        return sorted(hosts, key=lambda host: -host["free"])

    def choose_writer(self, image_name=None):
        hosts = self.live_writers()
        if not hosts:
            return None
        holding = [host for host in hosts if image_name and image_name in _images(host) and host["free"] > 0]
        return (holding or hosts)[0]["username"]

    def make_write_tasks(self, order):
        """One write task per card; published to a live writer host when there is one."""
        existing = self.db.tasks.count_documents({"order": order["_id"], "kind": "write"})
        moment = now()
        for _ in range(existing, order["quantity"]):
            writer = self.choose_writer(order["_id"])
            task = new_task(order["_id"], "write", ACTOR, moment, writer=writer)
            self.db.tasks.insert_one(task)
            if writer is None:
                log.warning("order %s: no live writer host; write task %s waits for one", order["_id"], task["_id"])
            elif self.publisher is not None:
                self.publisher.publish(task)


def _slots(host):
    """The host's announced slots; a value heartbeats could not have carried counts as none."""
    slots = host.get("slots", 1)
    if isinstance(slots, bool) or not isinstance(slots, int) or not 0 <= slots <= MAX_SLOTS:
        log.warning("writer host %s has an invalid slot count %r; it gets no work", host.get("_id"), slots)
        return 0
    return slots


def _images(host):
    images = host.get("images")
    return [name for name in images if isinstance(name, str)] if isinstance(images, list) else []
