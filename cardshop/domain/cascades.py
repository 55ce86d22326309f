"""What a task's new status means for its order, and the tasks that follow.

    create task received            -> order creating
    create task done                -> order pending_writer + write tasks (physical)
                                       or order ready (download)
    create task failed              -> order creation_failed, with the reason
    write task past pending         -> order writing
    write task written              -> its card in the order's `cards`
    quantity write tasks written    -> order pending_shipment
    write task failed               -> order write_failed, with the reason
"""

import logging
import time

from cardshop.domain.attempts import next_attempt
from cardshop.domain.placement import Placement
from cardshop.states import ORDER, IllegalTransition, order_event, task_machine
from cardshop.states.cascade import FAILED, STARTED
from cardshop.states.tasks import WRITE_TASK
from cardshop.store import auto_images, now, orders, tasks
from cardshop.store.transitions import transition

log = logging.getLogger(__name__)

ACTOR = "monitor"


class Cascades:
    def __init__(self, db, publisher=None):
        self.db = db
        self.publisher = publisher
        self.placement = Placement(db)
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
            self._written(task)
        elif event in FAILED:
            self._order_event(order_id, event, note=task.get("reason"))
        elif event in STARTED:
            order = orders.find(self.db, order_id, {"status": 1})
            if order and ORDER.allows(order["status"], event):
                self._order_event(order_id, event)

    def _create_done(self, task):
        order = orders.find(self.db, task["order"])
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
        previous = auto_images.point(self.db, name, {"order": order["_id"], "image": order["image"],
                                                      "warehouse": order["warehouse"], "updated_at": now()})
        if previous and previous.get("order") != order["_id"]:
            self._order_event(previous["order"], "expire", note=f"replaced by a newer build of {name}")

    # -- write tasks ------------------------------------------------------

    def writer_for(self, order_id, exclude=()):
        return self.placement.writer_for(order_id, exclude)

    def make_write_tasks(self, order):
        """One write task per card, all on one live writer host (published) when there is one."""
        existing = tasks.count_of_kind(self.db, order["_id"], "write")
        moment = now()
        writer = self.writer_for(order["_id"])
        for _ in range(existing, order["quantity"]):
            task = tasks.new_task(order["_id"], "write", ACTOR, moment, writer=writer)
            tasks.insert(self.db, task)
            if writer is None:
                log.warning("order %s: no live writer host; write task %s waits for one", order["_id"], task["_id"])
            elif self.publisher is not None:
                self.publisher.publish(task)

    def cancel_order(self, order_id, actor, reason=None):
        """Cancel the order, then each of its unfinished tasks, and tell their workers to stop; the ids of
        the tasks canceled. IllegalTransition when the order has ended (nothing is changed then)."""
        transition(self.db.orders, order_id, ORDER, "cancel", actor, note=reason)
        canceled = []
        for task in orders.tasks_of(self.db, order_id, {"kind": 1, "status": 1}):
            machine = task_machine(task["kind"])
            if task["status"] in machine.final:
                continue
            try:
                transition(self.db.tasks, task["_id"], machine, "canceled", actor, note=reason)
            except IllegalTransition:
                continue  # it ended meanwhile
            canceled.append(task["_id"])
            if self.publisher is not None:
                self.publisher.cancel(task["_id"], reason or f"order canceled by {actor}")
        return canceled

    def retry_order(self, order, actor, reason):
        """A new attempt of a failed order's failed step (its create task, or the write tasks of the cards
        still to write), published; the new tasks' ids. `order` holds `status` and `quantity`.
        IllegalTransition when the order is not failed (or a concurrent retry won): only the winner of
        the order's transition makes new attempts."""
        transition(self.db.orders, order["_id"], ORDER, "retry", actor, note=reason)
        if order["status"] == "write_failed":
            return self.redo_writes(order, actor, reason)
        task = next_attempt(self.db, tasks.latest_of_kind(self.db, order["_id"], "create"), actor, reason)
        if self.publisher is not None:
            self.publisher.publish(task)
        return [task["_id"]]

    def redo_writes(self, order, actor, note):
        """New write tasks for the order's cards still to write, all on one live host, published.

        Ended tasks not yet redone (failed, timed out, canceled) get their next attempt first;
        more are created if the order still lacks tasks. Returns the new tasks' ids.
        """
        writes = tasks.of_kind(self.db, order["_id"], "write")
        redone = {task.get("retry_of") for task in writes}
        live = sum(task["status"] not in WRITE_TASK.ended for task in writes)
        written = sum(task["status"] == "written" for task in writes)
        gone = [task for task in writes if task["status"] in WRITE_TASK.ended and task["status"] != "written"
                and task["_id"] not in redone]
        writer = self.writer_for(order["_id"])
        made = []
        for index in range(order["quantity"] - written - live):
            if index < len(gone):
                task = next_attempt(self.db, gone[index], actor, note, writer=writer)
            else:
                task = tasks.new_task(order["_id"], "write", actor, now(), writer=writer)
                tasks.insert(self.db, task)
            if writer is not None and self.publisher is not None:
                self.publisher.publish(task)
            made.append(task["_id"])
        return made

    def _written(self, task):
        """A card was written: the order lists it (and any a lost cascade left out); once its quantity is
        written, the order waits for shipping."""
        order = orders.find(self.db, task["order"], {"quantity": 1, "cards": 1})
        if order is None:
            return
        listed = {card.get("task") for card in order.get("cards") or [] if isinstance(card, dict)}
        written = tasks.written_of(self.db, order["_id"], {"result": 1, "updated_at": 1})
        for done in written:
            if done["_id"] not in listed:
                orders.add_card(self.db, order["_id"], _card(done))
        if len(written) >= order["quantity"]:
            self._order_event(order["_id"], "writes_done")


def _card(task):
    result = task.get("result") if isinstance(task.get("result"), dict) else {}
    card = result.get("card") if isinstance(result.get("card"), dict) else {}
    return {"task": task["_id"], "host": result.get("host"), "slot": result.get("slot"),
            "serial": card.get("serial"), "size": card.get("size"), "at": task.get("updated_at") or now()}
