"""New documents, built in one place so that every writer builds them alike."""

from cardshop.states import ORDER, task_machine
from cardshop.store.db import new_id
from cardshop.store.transitions import initial_history


def new_task(order_id, kind, actor, moment, **fields):
    return {"_id": new_id(), "order": order_id, "kind": kind,
            "status": task_machine(kind).initial, "rev": 0,
            "statuses": initial_history(task_machine(kind), actor, moment),
            "attempt": 1, "worker": None, "progress": None, "published_at": None,
            "created_at": moment, "updated_at": moment, **fields}


def record_order(db, fields, actor, moment):
    """Insert a new order (`fields`: recipe, sd_card, quantity, recipient, warehouse, ...) with its create task.

    Returns (order, task). There is never an order without its create task: if
    the task cannot be written, the order is removed again.
    """
    order = {"_id": new_id(), **fields, "status": ORDER.initial, "rev": 0, "statuses": initial_history(ORDER, actor, moment),
             "created_by": actor, "created_at": moment, "updated_at": moment}
    task = new_task(order["_id"], "create", actor, moment)
    db.orders.insert_one(order)
    try:
        db.tasks.insert_one(task)
    except Exception:
        db.orders.delete_one({"_id": order["_id"]})
        raise
    return order, task
