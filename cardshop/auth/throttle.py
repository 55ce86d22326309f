"""Slow down password guessing, per username.

After `max_failures` failed logins within `window` seconds, the username is
locked for `lockout` seconds; each further failure while counting doubles the
lock, up to `max_lockout`. While locked, logins are refused without checking
the password (HTTP 429 with Retry-After). A success clears the count. Counts
live in the database, so every scheduler process and restart sees them.
"""

import datetime
import math

import pymongo

from cardshop.store import now


class Throttled(Exception):
    def __init__(self, retry_after):
        self.retry_after = retry_after
        super().__init__(f"too many failed logins; try again in {retry_after} s")


class LoginThrottle:
    def __init__(self, db, max_failures=5, window=900, lockout=60, max_lockout=900):
        self.collection = db.login_failures
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.max_lockout = max_lockout

    def check(self, username):
        """Raise Throttled while the username is locked."""
        doc = self.collection.find_one({"username": username})
        moment = now()
        if doc and doc.get("locked_until") and doc["locked_until"] > moment:
            raise Throttled(math.ceil((doc["locked_until"] - moment).total_seconds()))

    def failed(self, username):
        moment = now()
        before = self.collection.find_one_and_update(
            {"username": username}, {"$inc": {"count": 1}, "$set": {"last_at": moment}},
            upsert=True, return_document=pymongo.ReturnDocument.BEFORE)
        count = before["count"] + 1 if before else 1
        if before and (moment - before["last_at"]).total_seconds() > self.window:
            # The earlier failures are too old to count: start again.
            self.collection.update_one({"username": username},
                                       {"$set": {"count": 1}, "$unset": {"locked_until": ""}})
            count = 1
        excess = count - self.max_failures
        if excess >= 0:
            seconds = min(self.lockout * 2 ** min(excess, 20), self.max_lockout)
            self.collection.update_one(
                {"username": username},
                {"$set": {"locked_until": moment + datetime.timedelta(seconds=seconds)}})

    def succeeded(self, username):
        self.collection.delete_one({"username": username})
