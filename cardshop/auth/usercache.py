"""What every request needs to know about its user, cached for a moment.

Checking the user on every request (active? session revoked?) is what makes
disabling, deleting and logging out take effect at once; the cache keeps
that from costing a database round trip per request. Changes made through
this process forget the entry immediately; changes made by another
scheduler process are seen within `ttl` seconds (0 disables the cache).
"""

import threading
import time

from cardshop.store import users

PROJECTION = {"username": 1, "role": 1, "active": 1, "revoked_sessions": 1}


class UserCache:
    def __init__(self, db, ttl=1.0):
        self.db = db
        self.ttl = ttl
        self._entries = {}
        self._forgotten = {}  # username -> count, so a read racing a forget is not cached
        self._lock = threading.Lock()

    def get(self, username):
        """The user's role, active flag and revoked sessions, or None if there is no such user."""
        now = time.monotonic()
        entry = self._entries.get(username)
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = self._forgotten.get(username, 0)
        user = users.find(self.db, username, PROJECTION)
        if self.ttl > 0:
            with self._lock:
                if len(self._entries) > 10000:  # bound memory under a flood of usernames
                    self._entries.clear()
                if self._forgotten.get(username, 0) == generation:
                    self._entries[username] = (now + self.ttl, user)
        return user

    def forget(self, username):
        with self._lock:
            self._entries.pop(username, None)
            self._forgotten[username] = self._forgotten.get(username, 0) + 1
