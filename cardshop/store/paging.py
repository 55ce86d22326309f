"""Keyset pages of a history collection, newest first, at the cost of a page, not of the history.

A page is the documents after a position (created_at, _id) in the order
newest first; the position of its last document is where the next page
starts. DocumentDB's indexes find documents by `created_at` range but do not
return them sorted, and an index range costs every entry in it (even for
LIMIT 1), so a sort, or a question such as "is there anything older?", over
the history costs the history. So:

- a filter that matches few documents (`bounded`: live work, or a status or
  a search the counts say is rare) is one query, sorted: it costs its matches;
- any other reads time windows: the newest FIRST_WINDOW before the position,
  then windows GROWTH times wider further back, until the page is full or
  the windows pass EPOCH. A page of recent history costs about a page.
"""

import datetime

import pymongo

NEWEST_FIRST = [("created_at", pymongo.DESCENDING), ("_id", pymongo.DESCENDING)]
BY_CREATION = [("created_at", pymongo.DESCENDING)]  # the index every paged collection has (store/db.py)
FIRST_WINDOW = datetime.timedelta(minutes=10)
GROWTH = 4
FEW = 1000  # a filter matching at most this many documents is read in one sorted query (`bounded`)
# No document is older: the windows stop here (a dozen of them reach it from today). Asking "is anything
# older?" instead would cost every older index entry.
EPOCH = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)


def newest_first(collection, filters, limit, after=None, projection=None, moment=None, bounded=False):
    """(up to `limit` documents matching `filters`, newest first, that come after the position `after`
    ((created_at, _id), or None for the newest); whether more follow the last of them).

    `moment` is where the first window ends when there is no position (default: now); documents created
    later (a clock ahead) are not missed: the first window has no upper bound.

    No query combines an `$or` with a `created_at` range: DocumentDB 0.107 answered
    {$and: [{$or: [{created_at: {$lt: t}}, {created_at: t, _id: {$lt: i}}]}, {created_at: {$gte: s}}]}
    with nothing where a document matched (docs/operations/database.md). The documents tied with the
    position (same created_at, smaller _id) are read first, on their own.

    `bounded`: the filter matches few documents (live work, or what the counts say is rare): one sorted
    query, no windows.
    """
    wanted = limit + 1  # one more than the page: whether more follow
    if bounded:
        query = filters if after is None else _and(filters, {"created_at": {"$lte": after[0]}})
        # What has no creation time has no place in the order: left out, as the windows leave it (asked
        # of the database, `$type` could make it walk the creation index of the whole history).
        found = [doc for doc in collection.find(query, projection).sort(NEWEST_FIRST)
                 if isinstance(doc.get("created_at"), datetime.datetime)
                 and (after is None or (doc["created_at"], doc["_id"]) < tuple(after))]
        return found[:limit], len(found) > limit
    found = []
    if after is not None:
        found = list(collection.find(tied_filter(filters, after), projection).sort(NEWEST_FIRST).limit(wanted))
        end = after[0]
    else:
        end = moment or datetime.datetime.now(datetime.timezone.utc)
    open_above = after is None  # the first window of the newest page has no upper bound
    window = FIRST_WINDOW
    while len(found) < wanted:
        start = end - window
        query = window_filter(filters, start, None if open_above else end)
        # Through the creation time's index: a window costs its documents, whichever other index the
        # planner would pick for the filter (one on status reads every order ever shipped).
        found += list(collection.find(query, projection).sort(NEWEST_FIRST).hint(BY_CREATION)
                      .limit(wanted - len(found)))
        if len(found) >= wanted or start <= EPOCH:
            break
        end, open_above, window = start, False, window * GROWTH
    return found[:limit], len(found) > limit


def tied_filter(filters, after):
    """The documents of `filters` created with the position `after`, but after it in the order."""
    created_at, doc_id = after
    return _and(filters, {"created_at": created_at, "_id": {"$lt": doc_id}})


def window_filter(filters, start, upper=None):
    """The documents of `filters` created from `start` on, before `upper` when given."""
    return _and(filters, {"created_at": {"$gte": start, **({"$lt": upper} if upper is not None else {})}})


def position(doc):
    """Where the page after `doc` starts."""
    return doc["created_at"], doc["_id"]


def _and(*conditions):
    conditions = [condition for condition in conditions if condition]
    return conditions[0] if len(conditions) == 1 else {"$and": conditions} if conditions else {}
