"""Slow down password guessing, per (username, client address).

After `max_failures` failed logins of one username from one address within
`window` seconds, that pair is locked for `lockout` seconds; each further
failure doubles the lock, up to `max_lockout`. While locked, logins are
refused without checking the password (HTTP 429 with Retry-After). A success
clears the pair. Keying on the address too means a guesser elsewhere cannot
lock a user out; guessing from many addresses is slowed by the per-address
rate limit (ratelimit.py) instead.

Each failure is its own document, inserted and never updated, so concurrent
failures are all counted on FerretDB as on MongoDB (no read-modify-write to
lose). Every document expires after `window` seconds and is swept, so unknown
usernames leave no lasting trail.
"""

import datetime
import math
import time

from cardshop.store import failed_logins, new_id, now


class Throttled(Exception):
    def __init__(self, retry_after):
        self.retry_after = retry_after
        super().__init__(f"too many failed logins; try again in {retry_after} s")


class LoginThrottle:
    def __init__(self, db, max_failures=5, window=900, lockout=60, max_lockout=900):
        self.db = db
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.max_lockout = max_lockout
        self._swept = time.monotonic()

    def _locked_until(self, username, address, moment):
        since = moment - datetime.timedelta(seconds=self.window)
        times = failed_logins.times_since(self.db, username, address, since)
        excess = len(times) - self.max_failures
        if excess < 0:
            return None
        seconds = min(self.lockout * 2 ** min(excess, 20), self.max_lockout)
        return max(times) + datetime.timedelta(seconds=seconds)

    def check(self, username, address):
        """Raise Throttled while the (username, address) pair is locked."""
        moment = now()
        until = self._locked_until(username, address, moment)
        if until is not None and until > moment:
            raise Throttled(math.ceil((until - moment).total_seconds()))

    def failed(self, username, address):
        moment = now()
        failed_logins.insert(self.db, {
            "_id": new_id(), "username": username, "address": address, "at": moment,
            "expires_at": moment + datetime.timedelta(seconds=self.window)})
        if time.monotonic() - self._swept >= min(self.window, 60):  # sweep at most once a window (or minute)
            self._swept = time.monotonic()
            failed_logins.delete_expired(self.db, moment)

    def succeeded(self, username, address):
        failed_logins.delete_of(self.db, username, address)

    def forget_user(self, username):
        failed_logins.delete_of(self.db, username)
