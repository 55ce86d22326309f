"""The one place that changes a status: compare-and-set plus history."""

import pymongo

from cardshop.states import IllegalTransition
from cardshop.store.db import now


class ConcurrentChange(IllegalTransition):
    """The status changed between reading and writing; the caller may retry."""


def transition(collection, doc_id, machine, event, actor, note=None, extra=None, attempts=3, guard=None):
    """Apply `event` to the document and append it to its `statuses` history.

    Returns the updated document, None when it does not exist, or raises
    IllegalTransition. The update only lands if the status is still the one
    the event was checked against, so concurrent writers cannot skip the table.
    `guard` adds conditions; when they fail, nothing changes and None is returned.
    """
    for _ in range(attempts):
        current = collection.find_one({"_id": doc_id, **(guard or {})}, {"status": 1})
        if current is None:
            return None
        status = current["status"]
        new_status = machine.apply(status, event)
        moment = now()
        entry = {"status": new_status, "event": event, "at": moment, "by": actor}
        if note:
            entry["note"] = note
        changes = {"status": new_status, "updated_at": moment, **(extra or {})}
        updated = collection.find_one_and_update(
            {"_id": doc_id, "status": status, **(guard or {})},
            {"$set": changes, "$push": {"statuses": entry}},
            return_document=pymongo.ReturnDocument.AFTER,
        )
        if updated is not None:
            return updated
    raise ConcurrentChange(machine.name, status, event)


def initial_history(machine, actor, moment):
    return [{"status": machine.initial, "event": "created", "at": moment, "by": actor}]
