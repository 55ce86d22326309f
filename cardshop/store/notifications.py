"""The `notifications` collection: each e-mail the beat owes, sent once (see docs/operations/notifications.md).

One document per (event kind, subject, recipient); its `_id` is that key, so
finding an event again (a second beat, a restarted one) inserts nothing new.

    {"_id": "order_written:<order id>:5:ada", "kind": "order_written", "to": "ada@example.org",
     "subject": "...", "text": "...", "html": "...", "message_id": "<...@cardshop>",
     "state": "pending" | "sent" | "failed", "rev": 2, "next_try": <time>, "last_error": "...",
     "created_at": <time>, "sent_at": <time>}

`rev` counts the attempts: attempt n is won by claiming the commit
`notifications/<id>/<n>` (commits.py), so of two beats exactly one sends it;
the winner's lease (`next_try`, later) keeps the others off while it sends.
The keys hold no "/" (a commit key has three parts; commits.prune reads them).

`notification_scans` keeps, per source of events, the time up to which it was read.
"""

from cardshop.store.commits import claim, claimed, unique
from cardshop.store.db import now

PENDING, SENT, FAILED = "pending", "sent", "failed"
DUE_FIRST = [("next_try", 1)]


class Exists(Exception):
    """A notification of that key exists already."""


def key(kind, subject, recipient):
    """The `_id` of the notification of `kind` about `subject` for `recipient` ("/" replaced: see above)."""
    return ":".join(str(part).replace("/", "_") for part in (kind, subject, recipient))


def record(db, doc):
    """Insert the notification unless its key exists; True when it is new."""
    moment = now()
    try:
        with unique(Exists):
            db.notifications.insert_one({"state": PENDING, "rev": 0, "next_try": moment, "created_at": moment,
                                         **doc})
    except Exists:
        return False
    return True


def exists(db, notification_id):
    return db.notifications.find_one({"_id": notification_id}, {"_id": 1}) is not None


def due(db, moment, limit):
    """Up to `limit` pending notifications whose next try has come, the longest waiting first."""
    return list(db.notifications.find(due_filter(moment)).sort(DUE_FIRST).limit(limit))


def due_filter(moment):
    return {"state": PENDING, "next_try": {"$lte": moment}}


def take(db, doc, lease_until):
    """Claim the next attempt of `doc` (as read); the document as taken, or None when another beat has it.

    A commit won by someone who died before writing it is written here by whoever comes next (its lease
    then keeps the notification until it ends)."""
    attempt = doc.get("rev", 0) + 1
    commit = f"notifications/{doc['_id']}/{attempt}"
    mine = {"next_try": lease_until, "attempt_at": now()}
    won = claim(db, commit, {"changes": mine})
    changes = mine if won else claimed(db, commit)["changes"]
    db.notifications.update_one({"_id": doc["_id"], "rev": attempt - 1}, {"$set": {**changes, "rev": attempt}})
    return {**doc, **changes, "rev": attempt} if won else None


def end(db, doc, changes):
    """Write how the attempt of `doc` (as taken) ended; False when a later attempt took it meanwhile."""
    return db.notifications.update_one({"_id": doc["_id"], "rev": doc["rev"], "state": PENDING},
                                       {"$set": changes}).modified_count == 1


def mark_sent(db, doc):
    return end(db, doc, {"state": SENT, "sent_at": now()})


def retry_at(db, doc, moment, error):
    return end(db, doc, {"next_try": moment, "last_error": error[:500]})


def mark_failed(db, doc, error):
    return end(db, doc, {"state": FAILED, "failed_at": now(), "last_error": error[:500]})


def prune(db, before, limit):
    """Delete up to `limit` sent or failed notifications last tried before `before`; how many went. They
    must outlive the events' look-back (a day), or an event read again would be mailed again."""
    deleted = 0
    for state in (SENT, FAILED):
        ids = [doc["_id"] for doc in db.notifications.find(prune_filter(state, before), {"_id": 1})
               .limit(limit - deleted)]
        if ids:
            deleted += db.notifications.delete_many({"_id": {"$in": ids}}).deleted_count
        if deleted >= limit:
            break
    return deleted


def prune_filter(state, before):
    return {"state": state, "next_try": {"$lt": before}}


def scanned_until(db, source):
    """The time up to which `source`'s events were read, or None the first time."""
    return (db.notification_scans.find_one({"_id": source}) or {}).get("until")


def set_scanned_until(db, source, moment):
    db.notification_scans.update_one({"_id": source}, {"$set": {"until": moment}}, upsert=True)
