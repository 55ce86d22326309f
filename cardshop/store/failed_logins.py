"""The `failed_logins` collection: one document per failed login, inserted and never updated (so concurrent
failures all count on FerretDB too), each expiring after the throttle's window. Ids are fresh: they never clash."""

from cardshop.store.refresh_tokens import expired_filter

COLLECTION = "failed_logins"


def insert(db, doc):
    db[COLLECTION].insert_one(doc)


def times_since(db, username, address, moment):
    """When `username` failed to log in from `address` after `moment`."""
    return [doc["at"] for doc in db[COLLECTION].find(times_since_filter(username, address, moment), {"at": 1})]


def times_since_filter(username, address, moment):
    return {"username": username, "address": address, "at": {"$gt": moment}}


def delete_expired(db, moment):
    """Delete the records expired before `moment`; how many."""
    return db[COLLECTION].delete_many(expired_filter(moment)).deleted_count


def delete_of(db, username, address=None):
    """Delete the user's records (only those from `address`, unless None)."""
    db[COLLECTION].delete_many({"username": username, **({} if address is None else {"address": address})})
