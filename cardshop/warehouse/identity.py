"""Who holds an access token, asked of the scheduler (`POST /auth/validate`), cached briefly.

The cache is keyed by the token's SHA-256 (tokens are never kept or logged
in clear) and an entry never outlives the token's own expiry. While the
scheduler is away, cached answers keep serving until they age out; after
that the error is `transient` (the server answers 421 "try later", not a
final 530).
"""

import hashlib
import logging
import threading
import time

import jwt

from cardshop.client import ApiClient, ApiUnreachable

log = logging.getLogger(__name__)


class IdentityError(Exception):
    """The token grants nothing (`transient` False), or the scheduler cannot say for now (True)."""

    def __init__(self, message, transient=False):
        super().__init__(message)
        self.transient = transient


class Identities:
    def __init__(self, api_url, timeout=5, cache_seconds=30, ca_file=None):
        self.client = ApiClient(api_url, timeout=timeout, ca_file=ca_file)
        self.cache_seconds = cache_seconds
        self._cache = {}
        self._lock = threading.Lock()

    @staticmethod
    def _expiry(token):
        try:
            return float(jwt.decode(token, options={"verify_signature": False})["exp"])
        except (jwt.InvalidTokenError, KeyError, TypeError, ValueError):
            return 0.0

    def identify(self, username, token, fresh=False):
        """{"username", "role", "tasks"} for a token that belongs to `username`."""
        key = hashlib.sha256(token.encode()).hexdigest()
        now = time.time()
        cached = self._cache.get(key)
        if cached and not fresh and cached[0] > now:
            identity = cached[1]
        else:
            try:
                reply = self.client.post("/auth/validate", token=token)
            except ApiUnreachable as exc:
                log.warning("cannot validate a token of %r: %s", username, exc)
                raise IdentityError(f"the scheduler ({self.client.base_url}) does not answer; try later",
                                    transient=True) from exc
            if reply.status >= 500:
                log.warning("cannot validate a token of %r: the scheduler answers %s", username, reply.status)
                raise IdentityError(f"the scheduler ({self.client.base_url}) answers HTTP {reply.status}; "
                                    f"try later", transient=True)
            if reply.status != 200:
                raise IdentityError(f"token refused: {reply.error}")
            identity = reply.body
            until = min(now + self.cache_seconds, self._expiry(token))
            with self._lock:
                if len(self._cache) > 10000:
                    self._cache.clear()
                self._cache[key] = (until, identity)
        if identity["username"] != username:
            raise IdentityError("the token belongs to another user")
        return identity
