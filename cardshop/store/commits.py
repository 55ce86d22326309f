"""Compare-and-set that holds on FerretDB 1.24 and MongoDB alike.

FerretDB 1.24 (SQLite) runs neither `find_one_and_update` nor `update_one`
with a filter atomically: of 20 concurrent callers matching the same
condition, several (up to 11 in our trials) all "win". What both databases
do enforce is a unique index: of 20 concurrent inserts of one `_id`, exactly
one succeeds. So every compare-and-set in cardshop is decided by `claim`,
an insert into the `commits` collection whose `_id` names the change:

- a document's next version: `orders/<id>/<rev>` (see transitions.py);
- one use of a refresh token: `refresh_tokens/<digest>`;
- the run that takes a task over from its previous run: `tasks/<id>/after-run/<run>`;
- the next value of a named pointer (`swap`): `auto_images/<name>/<rev>`.

The insert is the commit point. The update of the document that follows it
only sets values fixed by the commit record, so it is idempotent: whoever
next finds the record ahead of the document (a loser of the race, or any
later writer if the winner died in between) applies it again, and nothing
stays stuck half-done. A record outlives its use: `prune` deletes those
whose change is in place (the beat's prune_commits job).
"""

import contextlib

import pymongo.errors

from cardshop.store.db import now

COLLECTION = "commits"


def is_duplicate(exc):
    """True when a write failed on a unique index (MongoDB's code 11000, or FerretDB's SQLite message)."""
    if isinstance(exc, pymongo.errors.DuplicateKeyError):
        return True
    return isinstance(exc, pymongo.errors.OperationFailure) and "UNIQUE constraint failed" in str(exc)


@contextlib.contextmanager
def unique(on_duplicate):
    """Run a write; a clash on a unique index raises `on_duplicate()` instead (the one mapping of
    MongoDB's error 11000 and FerretDB's error 1 to the store's own errors)."""
    try:
        yield
    except pymongo.errors.OperationFailure as exc:
        if not is_duplicate(exc):
            raise
        raise on_duplicate() from None


def claim(db, key, record=None):
    """Insert the commit `key` with `record`; True if this caller won it, False if another did."""
    try:
        db[COLLECTION].insert_one({"at": now(), **(record or {}), "_id": key})
    except pymongo.errors.OperationFailure as exc:
        if is_duplicate(exc):
            return False
        raise
    return True


def claimed(db, key):
    """The commit record `key`, or None while nobody has won it."""
    return db[COLLECTION].find_one({"_id": key})


def swap(collection, doc_id, fields):
    """Set `fields` on the document as its next version (creating it); return the version it replaced.

    Of concurrent swaps each replaces a different version, so every replaced
    value is handed to exactly one caller (None: there was no document). The
    commits are the truth and the document their copy: a slow swapper may
    write an older version over a newer one (FerretDB's filtered update is not
    atomic), so each swapper, after its own write, brings the document up to
    the latest commit; the last one to finish leaves it right.
    """
    db = collection.database
    while True:
        current = collection.find_one({"_id": doc_id})
        rev = (current or {}).get("rev", 0) + 1
        key = f"{collection.name}/{doc_id}/{rev}"
        won = claim(db, key, {"fields": fields})
        record = {"fields": fields} if won else claimed(db, key)
        _write_version(collection, doc_id, rev, record["fields"])
        if won:
            _catch_up(collection, doc_id)
            return current


def _write_version(collection, doc_id, rev, fields):
    older = {"_id": doc_id, "$or": [{"rev": {"$lt": rev}}, {"rev": {"$exists": False}}]}
    try:
        collection.update_one(older, {"$set": {**fields, "rev": rev}}, upsert=True)
    except pymongo.errors.OperationFailure as exc:
        if not is_duplicate(exc):
            raise
        # No older version to replace: this one or a later one is there already (or an upsert raced).


def _catch_up(collection, doc_id):
    """Write the committed versions the document lacks, up to the latest."""
    while True:
        rev = (collection.find_one({"_id": doc_id}, {"rev": 1}) or {}).get("rev", 0) + 1
        record = claimed(collection.database, f"{collection.name}/{doc_id}/{rev}")
        if record is None:
            return
        _write_version(collection, doc_id, rev, record["fields"])


def prune(db, before, limit=5000, pages=5):
    """Delete up to `limit` commit records older than `before` whose change is in place; how many went.

    A record is kept while its change may still have to be applied: a version
    (`<collection>/<id>/<rev>`) the document has not reached, a takeover
    (`tasks/<id>/after-run/<run>`) of a task still held by `<run>`. A refresh
    token's one use was marked on the token at once, and the token outlives
    its record's use anyway. Unknown keys are kept. Records are read oldest
    first, `limit` at a time; kept ones are stepped over (at most `pages` reads).
    """
    after = None
    for _ in range(pages):
        records = list(db[COLLECTION].find(prune_filter(before, after)).sort(OLDEST_FIRST).limit(limit))
        done = _in_place(db, records)
        if done:
            return db[COLLECTION].delete_many({"_id": {"$in": done}}).deleted_count
        if len(records) < limit:
            return 0
        after = records[-1]["at"]
    return 0


def prune_filter(before, after=None):
    """The records `prune` reads: older than `before`, and newer than `after` (the last one it stepped over)."""
    return {"at": {"$lt": before, **({"$gt": after} if after is not None else {})}}


OLDEST_FIRST = [("at", 1)]


def _in_place(db, records):
    """The keys of `records` whose change is in place (see prune)."""
    versions, takeovers, done = {}, {}, []
    for record in records:
        parts = record["_id"].split("/")
        if len(parts) == 3 and parts[2].isdigit():
            versions.setdefault(parts[0], {}).setdefault(parts[1], []).append((int(parts[2]), record["_id"]))
        elif len(parts) == 4 and parts[0] == "tasks" and parts[2] == "after-run":
            takeovers.setdefault(parts[1], []).append((parts[3], record["_id"]))
        elif len(parts) == 2 and parts[0] == "refresh_tokens":
            done.append(record["_id"])
    for collection, by_id in versions.items():
        reached = {doc["_id"]: version_of(doc)
                   for doc in db[collection].find({"_id": {"$in": list(by_id)}}, {"rev": 1, "statuses": 1})}
        done += [key for doc_id, keys in by_id.items() for rev, key in keys if rev <= reached.get(doc_id, rev)]
    if takeovers:
        held_by = {task["_id"]: str(task.get("run"))
                   for task in db.tasks.find({"_id": {"$in": list(takeovers)}}, {"run": 1})}
        done += [key for task_id, keys in takeovers.items() for run, key in keys if held_by.get(task_id) != run]
    return done


def version_of(doc):
    """The version a document has reached (documents older than versions count their history)."""
    return doc["rev"] if doc.get("rev") is not None else len(doc.get("statuses", [])) - 1
