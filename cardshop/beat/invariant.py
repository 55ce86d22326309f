"""No order is stranded: each is progressing, ended with a reason, or waiting with a visible reason.

An order in a live status needs something that moves it on: a live task of
the step it is in. A queued task counts (`pending`, or a write task
`requeued` for another card): the beat republishes it, and moves it to
another writer host when its own stays offline (move_offline_writers); a
task canceled by such a move is replaced by a live one. A
failed order must say why. `pending_shipment` and `ready` wait for a person
or for time, visibly. Anything else is stranded (a lost cascade, a task
that ended without its order following); the beat's `reconcile` job repairs
what it finds here.

The beat looks at the live orders only (`LIVE`: its query follows the work in
flight, not the history); the tests also check the failed ones (`UNFINISHED`).
"""

import datetime

from cardshop.states import ORDER, task_machine
from cardshop.store import now, orders, tasks

# The kind of task that moves an order on from each live status.
STEP_TASK = {"created": "create", "creating": "create", "pending_writer": "write", "writing": "write"}
WAITING = {"pending_shipment": "waits for the operator to ship it", "ready": "waits for its download"}
LIVE = ORDER.statuses - ORDER.ended
UNFINISHED = ORDER.statuses - ORDER.final  # and the failed ones, which must say why


def live_tasks(db, order_id, kind):
    """The order's tasks of `kind` not ended: working or queued."""
    return tasks.of_kind_not_in(db, order_id, kind, task_machine(kind).final, {"_id": 1})


def why_stranded(db, order, moving=None):
    """Why `order` is stranded, or None when something moves it on or it ended with a reason.

    `moving`: the ids of the orders known to have a live task of their step (`orders_moving`), rather
    than a query for this one."""
    status = order["status"]
    if status in ORDER.final or status in WAITING:
        return None
    if status in ORDER.failed:
        return None if (order.get("statuses") or [{}])[-1].get("note") else f"{status} without a reason"
    kind = STEP_TASK.get(status)
    if kind is None:
        return f"unknown status {status!r}"
    if order["_id"] in moving if moving is not None else live_tasks(db, order["_id"], kind):
        return None
    return f"{status} with no live {kind} task"


BATCH = 500  # orders whose live tasks one query looks for


def orders_moving(db, candidates):
    """The ids of the `candidates` (orders) with a live task of the kind their status needs: a query per
    kind and BATCH orders, not one per order."""
    by_kind = {}
    for order in candidates:
        if STEP_TASK.get(order["status"]):
            by_kind.setdefault(STEP_TASK[order["status"]], []).append(order["_id"])
    moving = set()
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), BATCH):
            moving |= tasks.orders_with_kind_not_in(db, ids[start:start + BATCH], kind, task_machine(kind).final)
    return moving


def stranded_orders(db, older_than=0, statuses=LIVE):
    """[(order, why)] for every stranded order in `statuses` untouched for `older_than` seconds."""
    candidates = list(orders.in_status_since(db, statuses, now() - datetime.timedelta(seconds=older_than)))
    moving = orders_moving(db, candidates)
    found = []
    for order in candidates:
        why = why_stranded(db, order, moving)
        if why is not None:
            found.append((order, why))
    return found
