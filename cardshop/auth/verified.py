"""Credentials verified a moment ago, remembered so that logging in again costs no bcrypt.

After a broker restart every worker logs in again at once, and RabbitMQ's own
cache of answers went with the broker: each of those logins was a full bcrypt
check, the checks queued past the broker's patience, and RabbitMQ denied
workers whose passwords were right. Credentials that were right a few minutes
ago are checked again by comparing a keyed hash, in microseconds; only unknown
or wrong ones wait for bcrypt (checkqueue.py).

What is kept is an HMAC of the username and password under a key drawn at
start and never stored, with the password hash it matched: nothing here turns
back into a password, and a restart forgets it all. An entry counts only while
the user's stored hash is still the one it was verified against, so a password
change drops it at once; the caller reads the user anyway and refuses an
inactive one whatever is remembered. Entries last `ttl` seconds from their
verification (not from their last use), at most MAX_ENTRIES (oldest out first).
"""

import hashlib
import hmac
import secrets
import threading
import time

MAX_ENTRIES = 10000


class VerifiedLogins:
    def __init__(self, ttl):
        self.ttl = ttl
        self._key = secrets.token_bytes(32)
        self._entries = {}  # digest -> (password hash, monotonic expiry), oldest first
        self._lock = threading.Lock()

    def _digest(self, username, password):
        message = f"{len(username)}:{username}:{password}".encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def known(self, username, password, password_hash):
        """Whether these credentials were verified within `ttl` against this very `password_hash`."""
        if self.ttl <= 0 or not password_hash:
            return False
        entry = self._entries.get(self._digest(username, password))
        return entry is not None and entry[1] > time.monotonic() and hmac.compare_digest(entry[0], password_hash)

    def maybe(self, username, password):
        """Whether these credentials may be remembered (an entry not expired; known() then checks its hash)."""
        if self.ttl <= 0:
            return False
        entry = self._entries.get(self._digest(username, password))
        return entry is not None and entry[1] > time.monotonic()

    def remember(self, username, password, password_hash):
        """Note credentials bcrypt has just found right for `password_hash`."""
        if self.ttl <= 0 or not password_hash:
            return
        digest = self._digest(username, password)
        with self._lock:
            self._entries.pop(digest, None)
            self._entries[digest] = (password_hash, time.monotonic() + self.ttl)
            while len(self._entries) > MAX_ENTRIES:
                del self._entries[next(iter(self._entries))]
