"""New documents, built in one place so that every writer builds them alike."""

from cardshop.states import task_machine
from cardshop.store.db import new_id
from cardshop.store.transitions import initial_history


def new_task(order_id, kind, actor, moment, **fields):
    return {"_id": new_id(), "order": order_id, "kind": kind,
            "status": task_machine(kind).initial,
            "statuses": initial_history(task_machine(kind), actor, moment),
            "attempt": 1, "worker": None, "progress": None, "published_at": None,
            "created_at": moment, "updated_at": moment, **fields}
