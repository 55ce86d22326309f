"""Keyset pages of a history collection, newest first, at the cost of a page, not of the history.

A page is the documents after a position (created_at, _id) in the order
newest first; the position of its last document is where the next page
starts. DocumentDB's indexes find documents by `created_at` range but do not
return them sorted, so a sort over everything that matches costs the whole
history. Each query here reads a time window instead: the newest
FIRST_WINDOW before the position, then windows GROWTH times wider further
back, until the page is full or nothing older matches. The sort then costs
the documents of the windows read, which for a page of recent history is
about a page.
"""

import datetime

import pymongo

NEWEST_FIRST = [("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)]
FIRST_WINDOW = datetime.timedelta(minutes=10)
GROWTH = 4


def newest_first(collection, filters, limit, after=None, projection=None, moment=None):
    """(up to `limit` documents matching `filters`, newest first, that come after the position `after`
    ((created_at, _id), or None for the newest); whether more follow the last of them).

    `moment` is where the first window ends when there is no position (default: now); documents created
    later (a clock ahead) are not missed: the first window has no upper bound.

    No query combines an `$or` with a `created_at` range: DocumentDB 0.107 answered
    {$and: [{$or: [{created_at: {$lt: t}}, {created_at: t, _id: {$lt: i}}]}, {created_at: {$gte: s}}]}
    with nothing where a document matched (docs/operations/database.md). The documents tied with the
    position (same created_at, smaller _id) are read first, on their own.
    """
    wanted = limit + 1  # one more than the page: whether more follow
    found = []
    if after is not None:
        found = list(collection.find(tied_filter(filters, after), projection).sort(NEWEST_FIRST).limit(wanted))
        end, upper = after[0], after[0]
    else:
        end, upper = moment or datetime.datetime.now(datetime.timezone.utc), None
    window = FIRST_WINDOW
    while len(found) < wanted:
        start = end - window
        query = window_filter(filters, start, upper)
        found += list(collection.find(query, projection).sort(NEWEST_FIRST).limit(wanted - len(found)))
        if len(found) >= wanted or collection.find_one(older_filter(filters, start), {"_id": 1}) is None:
            break
        end, upper, window = start, start, window * GROWTH
    return found[:limit], len(found) > limit


def tied_filter(filters, after):
    """The documents of `filters` created with the position `after`, but after it in the order."""
    created_at, doc_id = after
    return _and(filters, {"created_at": created_at, "_id": {"$lt": doc_id}})


def window_filter(filters, start, upper=None):
    """The documents of `filters` created from `start` on, before `upper` when given."""
    return _and(filters, {"created_at": {"$gte": start, **({"$lt": upper} if upper is not None else {})}})


def older_filter(filters, start):
    return _and(filters, {"created_at": {"$lt": start}})


def position(doc):
    """Where the page after `doc` starts."""
    return doc["created_at"], doc["_id"]


def _and(*conditions):
    conditions = [condition for condition in conditions if condition]
    return conditions[0] if len(conditions) == 1 else {"$and": conditions} if conditions else {}
