"""The database handle.

Only standard operations are used, so the same code runs on MongoDB >= 6 and
on FerretDB 1.24 with its SQLite backend: no transactions, no aggregation
beyond the basics, no server-side JavaScript.
"""

import logging
import re

import bson
import pymongo
import pymongo.errors

from cardshop.store.clock import now  # noqa: F401  (the store's clock, see there)
from cardshop.validation import ID_PATTERN

log = logging.getLogger(__name__)

_ID_RE = re.compile(ID_PATTERN)

# collection -> list of (keys, options)
INDEXES = {
    "users": [
        ([("username", 1)], {"unique": True}),
        ([("email", 1)], {"unique": True}),
        ([("notify", 1)], {}),  # the subscribers of a kind of notification (multikey)
    ],
    "refresh_tokens": [
        ([("family", 1)], {}),
        ([("username", 1)], {}),
        ([("expires_at", 1)], {}),
    ],
    "failed_logins": [([("username", 1), ("address", 1), ("at", 1)], {}), ([("expires_at", 1)], {})],
    # Each named store query (store/queries.py) finds its documents through one of these; a test explains
    # each query and fails when one reads a whole collection (docs/operations/database.md, "Query plans").
    "orders": [([("status", 1), ("created_at", -1)], {}), ([("created_at", -1)], {}),
               ([("status", 1), ("updated_at", 1)], {}), ([("image_deleted_at", 1), ("status", 1)], {}),
               ([("compacted_at", 1), ("status", 1)], {}),
               ([("image.folder", 1), ("status", 1)], {}),  # who still uses an image (clean_warehouse)
               ([("search_keys", 1)], {})],  # prefixes of the search terms (store/search.py), multikey
    "tasks": [([("order", 1), ("status", 1)], {}), ([("status", 1), ("created_at", -1)], {}),
              ([("worker", 1), ("status", 1)], {}), ([("status", 1), ("last_report_at", 1)], {}),
              ([("status", 1), ("published_at", 1)], {}), ([("writer", 1), ("status", 1)], {}),
              ([("created_at", -1)], {})],  # the history's pages (store/paging.py)
    "workers": [([("last_seen", -1)], {}), ([("username", 1), ("last_seen", -1)], {}),
                ([("live_until", -1)], {}), ([("slot.state", 1)], {})],
    "writer_slots": [([("username", 1), ("host", 1)], {})],
    "warehouses": [([("name", 1)], {"unique": True})],
    "schedules": [([("name", 1)], {"unique": True})],
    "task_logs": [([("task", 1), ("seq", 1)], {})],
    "commits": [([("at", 1)], {})],  # the beat prunes the old ones
    "notifications": [([("state", 1), ("next_try", 1)], {})],
}


class StoreError(Exception):
    """The database cannot be reached or refused an operation."""


def new_id():
    """A fresh document id: an ObjectId's 24 hex digits, stored as a string."""
    return str(bson.ObjectId())


def is_id(value):
    return isinstance(value, str) and bool(_ID_RE.match(value))


def connect(uri, name, timeout=5, call_timeout=None):
    """Return the database `name`; one client per process, created here.

    `timeout` bounds finding and connecting to the server; `call_timeout` each call (a query, an update,
    a page of a cursor): over it the call fails as slow (`slow(exc)`), not as "cannot reach".
    """
    client = pymongo.MongoClient(
        uri,
        tz_aware=True,
        serverSelectionTimeoutMS=timeout * 1000,
        connectTimeoutMS=timeout * 1000,
        socketTimeoutMS=max(timeout, 30) * 1000,
        **({"timeoutMS": call_timeout * 1000} if call_timeout else {}),
        appname="cardshop",
    )
    return client[name]


def slow(exc):
    """True when `exc` says a call took longer than it may (the database answers, slowly), as opposed to
    a database that cannot be found or reached (`unavailable`)."""
    return (isinstance(exc, pymongo.errors.PyMongoError) and getattr(exc, "timeout", False)
            and not isinstance(exc, pymongo.errors.ServerSelectionTimeoutError))


# FerretDB 2 reports a PostgreSQL it cannot reach as an ordinary command error (code 1) carrying
# PostgreSQL's or its driver's words: connection exceptions (SQLSTATE class 08), shutdowns (57P0x).
_POSTGRESQL_AWAY = ("SQLSTATE 08", "SQLSTATE 57P0", "unexpected postmaster exit", "the database system is",
                    "failed to connect", "connection refused", "conn closed", "unexpected EOF")


def unavailable(exc):
    """True when `exc` says the database cannot answer now (ask again later), not that the request was wrong."""
    if isinstance(exc, (pymongo.errors.ConnectionFailure, pymongo.errors.ExecutionTimeout)):
        return True
    return isinstance(exc, pymongo.errors.OperationFailure) and any(sign in str(exc) for sign in _POSTGRESQL_AWAY)


def ping(db):
    """True when the database answers."""
    try:
        db.command("ping")
        return True
    except pymongo.errors.PyMongoError:
        return False


INDEX_BUILD_TIMEOUT = 3600  # building an index on a long history takes what it takes, once


def ensure_indexes(db):
    """Create the indexes every collection needs (idempotent)."""
    try:
        with pymongo.timeout(INDEX_BUILD_TIMEOUT):
            for collection, indexes in INDEXES.items():
                for keys, options in indexes:
                    db[collection].create_index(keys, **options)
    except pymongo.errors.PyMongoError as exc:
        raise StoreError(f"cannot create indexes: {exc}") from exc
