"""The beat's purge_tokens job deletes what has expired and nothing else."""

import datetime

from cardshop.store import failed_logins
from cardshop.beat.jobs import Context, purge_tokens
from cardshop.store import new_id, now


def test_purge_deletes_expired_refresh_tokens_and_failed_logins_only(db):
    moment = now()
    past, future = moment - datetime.timedelta(seconds=5), moment + datetime.timedelta(hours=1)
    tag = new_id()
    for when in (past, future):
        db.refresh_tokens.insert_one({"_id": new_id(), "username": tag, "expires_at": when})
        db[failed_logins.COLLECTION].insert_one({"_id": new_id(), "username": tag, "address": "192.0.2.1",
                                            "at": moment, "expires_at": when})
    result = purge_tokens(Context(db, publisher=None))
    assert result["refresh_tokens"] >= 1 and result["failed_logins"] >= 1
    for collection in (db.refresh_tokens, db[failed_logins.COLLECTION]):
        left = list(collection.find({"username": tag}))
        assert [doc["expires_at"] for doc in left] == [future]
