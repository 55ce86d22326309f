"""How many orders are in each status, kept as counters: one document per (kind, status),
`{_id: "orders:shipped", n: 123}`, so that totals cost the same whatever the history.

The store moves them with every change it makes: an order recorded (+1 in its
first status), a transition applied (-1 old, +1 new; counted by whoever wrote
the version, which happens once however often a commit is replayed, see
transitions.py), an order deleted (-1). There are no transactions: a process
dying between a document's write and its counter's `$inc` leaves the counter
off by one. `recount` repairs that (the beat's recount_orders job), and
`totals` recounts first when the counters were never made (a database from an
older version).
"""

import logging
import time

import pymongo.errors

from cardshop.store.commits import is_duplicate
from cardshop.store.db import now

log = logging.getLogger(__name__)

COLLECTION = "counters"
COUNTED = frozenset({"orders"})  # the collections (kinds) whose statuses are counted


def _key(kind, status):
    return f"{kind}:{status}"


def add(db, kind, status, by):
    """Move the counter of `status` by `by` (made at 0 when missing)."""
    increment(db[COLLECTION], _key(kind, status), {"$inc": {"n": by}}, {"kind": kind, "status": status, "n": 0})


def increment(collection, key, update, made):
    """Apply `update` (an `$inc`, maybe a `$set`) to the document `key`, made from `made` first when missing.

    Not an upsert: concurrent upserts of one missing document on FerretDB 2.7 all report it inserted
    and all but one of their increments are lost (8 callers at once: n = 1). The document is made by an
    insert, whose clash on `_id` is reported, and only then updated.
    """
    if collection.update_one({"_id": key}, update).matched_count:
        return
    try:
        collection.insert_one({"_id": key, **made})
    except pymongo.errors.OperationFailure as exc:
        if not is_duplicate(exc):
            raise
        # another caller made it meanwhile
    collection.update_one({"_id": key}, update)


def moved(db, kind, old, new):
    """A document of `kind` went from status `old` to `new` (counted only for kinds in COUNTED)."""
    if kind in COUNTED and old != new:
        add(db, kind, old, -1)
        add(db, kind, new, 1)


def _read(db, kind, statuses):
    """{status: counter} of the counters that exist, and whether `kind` was ever recounted."""
    keys = [_key(kind, status) for status in statuses]
    found = {doc["_id"]: doc for doc in db[COLLECTION].find({"_id": {"$in": [kind, *keys]}})}
    return {status: found[_key(kind, status)].get("n", 0) for status in statuses if _key(kind, status) in found}, \
        kind in found


def totals(db, kind, statuses):
    """{status: how many documents of `kind` are in it} for each of `statuses`, from the counters (one
    round trip); the first call on a database without counters recounts them."""
    counted, made = _read(db, kind, statuses)
    if not made:
        log.info("no %s counters yet (a database from an older version): counting them now", kind)
        recount(db, kind, statuses, settle=0)
        counted, _ = _read(db, kind, statuses)
    return {status: counted.get(status, 0) for status in statuses}


def recount(db, kind, statuses, settle=1.0):
    """Count the documents of `kind` in each status again (one indexed count each) and correct the counters
    that differ; {status: (counter, count)} of the corrections.

    A counter found off is corrected only when it did not move while its status was counted and, after
    `settle` seconds, the same difference is still there: a change written but whose `$inc` is still on
    its way is not mistaken for a lost one. Corrections are compare-and-set on the counter's value, so an
    increment landing meanwhile is never overwritten (that status waits for the next recount).
    """
    collection, corrected = db[kind], {}
    for status in statuses:
        before = _counter(db, kind, status)
        count = collection.count_documents(status_filter(status))
        if _counter(db, kind, status) != before or count == (before or 0):
            continue
        if settle:
            time.sleep(settle)
            if _counter(db, kind, status) != before or collection.count_documents(status_filter(status)) != count:
                continue  # it moved meanwhile: next time
        if _set(db, kind, status, before, count):
            corrected[status] = (before, count)
    db[COLLECTION].update_one({"_id": kind}, {"$set": {"recounted_at": now()}}, upsert=True)
    if corrected:
        log.warning("%s counters corrected (counter -> count): %s", kind,
                    ", ".join(f"{status} {'none' if was is None else was} -> {count}"
                              for status, (was, count) in sorted(corrected.items())))
    return corrected


def status_filter(status):
    return {"status": status}


def value(db, kind, status):
    """A plain counter's value (0 until it moves), as `add` moved it: no recount, for counters that count
    events rather than the documents in a status (the cards written)."""
    return _counter(db, kind, status) or 0


def _counter(db, kind, status):
    doc = db[COLLECTION].find_one({"_id": _key(kind, status)}, {"n": 1})
    return None if doc is None else doc.get("n", 0)


def _set(db, kind, status, was, count):
    """Set the counter to `count` if it still holds `was` (None: it does not exist); True if it was set."""
    key = _key(kind, status)
    fields = {"n": count, "kind": kind, "status": status}
    if was is None:
        try:
            db[COLLECTION].insert_one({"_id": key, **fields})
            return True
        except pymongo.errors.OperationFailure as exc:
            if is_duplicate(exc):
                return False
            raise
    return db[COLLECTION].update_one({"_id": key, "n": was}, {"$set": fields}).modified_count == 1
