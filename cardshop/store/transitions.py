"""The one place that changes a status: compare-and-set plus history.

Each change of status is a new version of the document (`rev`, counting
transitions; the history has `rev + 1` entries). Who makes version n is
decided by claiming the commit `<collection>/<id>/<n>` (see commits.py); the
winner then writes the version with values fixed by the commit record, so
anyone finding the record ahead of the document can finish the write.
"""

from cardshop.states import IllegalTransition
from cardshop.store import counters
from cardshop.store.commits import claim, claimed, version_of
from cardshop.store.db import now


class ConcurrentChange(IllegalTransition):
    """The status changed between reading and writing; the caller may retry."""


def _key(collection, doc_id, rev):
    return f"{collection.name}/{doc_id}/{rev}"


def _write(collection, doc, rev, changes, entry):
    """Make version `rev` of `doc` (read at rev - 1) from its commit record; idempotent.

    Of all who write one version (its winner, losers and later callers catching up), exactly one
    update finds the document still at rev - 1: that one moves the status counters.
    """
    update = {"$set": {**changes, "rev": rev, f"statuses.{rev}": entry}}
    if collection.update_one({"_id": doc["_id"], "rev": doc.get("rev")}, update).modified_count:
        counters.moved(collection.database, collection.name, doc["status"], changes["status"])
    return {**doc, **changes, "rev": rev, "statuses": [*doc.get("statuses", [])[:rev], entry]}


def _catch_up(collection, doc):
    """Apply commits already won but not yet written (their writer is slow or died); the document as it stands."""
    db = collection.database
    while True:
        rev = version_of(doc) + 1
        record = claimed(db, _key(collection, doc["_id"], rev))
        if record is None:
            return doc
        doc = _write(collection, doc, rev, record["changes"], record["entry"])


def transition(collection, doc_id, machine, event, actor, note=None, extra=None, attempts=3, guard=None):
    """Apply `event` to the document and append it to its `statuses` history.

    Returns the updated document, None when it does not exist, or raises
    IllegalTransition. Of concurrent callers starting from one status, exactly
    one changes it; the others re-read and check their event again against the
    new status. `guard` adds conditions; when they fail, nothing changes and
    None is returned.
    """
    current = collection.find_one({"_id": doc_id, **(guard or {})})
    for _ in range(attempts):
        if current is None:
            return None
        status = current["status"]
        if not machine.allows(status, event):
            # Refused from what the document says; a change already won but not yet written may allow it.
            ahead = _catch_up(collection, current)
            if ahead is current:
                raise IllegalTransition(machine.name, status, event)
            current = ahead
            continue
        new_status = machine.apply(status, event)
        moment = now()
        entry = {"status": new_status, "event": event, "at": moment, "by": actor}
        if note:
            entry["note"] = note
        changes = {"status": new_status, "updated_at": moment, **(extra or {})}
        rev = version_of(current) + 1
        if claim(collection.database, _key(collection, doc_id, rev), {"changes": changes, "entry": entry}):
            return _write(collection, current, rev, changes, entry)
        # Lost the race: finish the winner's write, then look again from where it left the document.
        _catch_up(collection, current)
        current = collection.find_one({"_id": doc_id, **(guard or {})})
        if current is not None:
            current = _catch_up(collection, current)
    raise ConcurrentChange(machine.name, status, event)


def initial_history(machine, actor, moment):
    return [{"status": machine.initial, "event": "created", "at": moment, "by": actor}]


def compacted_history(statuses):
    """A long history as its first and last entries (how it began, how it ended); None when it is short."""
    if not isinstance(statuses, list) or len(statuses) <= 2:
        return None
    return [statuses[0], statuses[-1]]


def compact_history(collection, doc, moment):
    """Keep the first and last entries of an ended document's history, count the others
    (`history_dropped`) and mark it compacted; its `rev` stays (no transition follows a final status)."""
    kept = compacted_history(doc.get("statuses"))
    changes = {"compacted_at": moment}
    if kept is not None:
        changes.update(statuses=kept, history_dropped=len(doc["statuses"]) - len(kept))
    collection.update_one({"_id": doc["_id"], "compacted_at": None}, {"$set": changes})
