"""Access tokens (JWT, HS256) and refresh tokens (opaque, hashed, single use).

Every login starts a *session* (`sid`); each refresh hands out a new pair in
the same session. Presenting a refresh token twice means it leaked: the whole
session is revoked. Access tokens stay short-lived, but are also checked
against the user on every request (`authenticate` in cardshop/api/access.py), so that
disabling, deleting or logging out takes effect at once.

Both kinds of token name the user's id as well as its name: a token of a
deleted user grants nothing to a later account of the same name. Using a
refresh token is decided by claiming the commit `refresh_tokens/<digest>`
(see cardshop.store.commits), so of concurrent uses exactly one gets a pair.
"""

import datetime
import hashlib
import secrets

import jwt

from cardshop.store import new_id, now, refresh_tokens, users
from cardshop.store.commits import claim

ALGORITHM = "HS256"
MIN_KEY_LENGTH = 32


class TokenError(Exception):
    """A token that grants nothing; the message says why (never the token)."""


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens:
    def __init__(self, db, key, access_ttl=3600, refresh_ttl=30 * 86400, user_cache=None):
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(f"JWT key must have at least {MIN_KEY_LENGTH} characters")
        self.db = db
        self.key = key
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.user_cache = user_cache

    # -- issuing ---------------------------------------------------------

    def issue(self, user, session=None, at=None):
        """A new access + refresh pair for user, in a new session unless given; `at` back-dates it (tests)."""
        session = session or new_id()
        moment = at or now()
        issued_at = int(moment.timestamp())
        claims = {"sub": user["username"], "uid": user["_id"], "role": user["role"], "sid": session,
                  "iat": issued_at, "exp": issued_at + self.access_ttl, "jti": new_id()}
        access = jwt.encode(claims, self.key, algorithm=ALGORITHM)
        refresh = secrets.token_urlsafe(32)
        refresh_tokens.insert(self.db, {
            "_id": _digest(refresh),
            "username": user["username"],
            "user_id": user["_id"],
            "family": session,
            "created_at": moment,
            "expires_at": moment + datetime.timedelta(seconds=self.refresh_ttl),
            "used_at": None,
        })
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": self.access_ttl}

    # -- checking --------------------------------------------------------

    def decode(self, token):
        """The claims of a well-signed, unexpired access token."""
        try:
            return jwt.decode(token, self.key, algorithms=[ALGORITHM],
                              options={"require": ["sub", "uid", "role", "sid", "iat", "exp"]})
        except jwt.ExpiredSignatureError:
            raise TokenError("access token expired") from None
        except jwt.InvalidTokenError:
            raise TokenError("invalid access token") from None

    def refresh(self, refresh_token, load_user):
        """Exchange a refresh token for a new pair in the same session.

        `load_user(username)` returns the active user or None.
        """
        digest = _digest(refresh_token)
        moment = now()
        claimed = refresh_tokens.find(self.db, digest)
        if claimed is None:
            raise TokenError("unknown refresh token")
        if claimed["expires_at"] <= moment:
            raise TokenError("refresh token expired")
        user = load_user(claimed["username"])
        if user is None or user["_id"] != claimed.get("user_id"):
            raise TokenError("user unknown or disabled")
        if claimed["family"] in user.get("revoked_sessions", {}):
            raise TokenError("session revoked")
        # The commit point: of concurrent uses one gets the pair; the others
        # prove the token leaked, and end the session (the winner's pair too).
        if claimed["used_at"] is not None or not claim(self.db, f"refresh_tokens/{digest}"):
            self.revoke_session(claimed["username"], claimed["family"])
            raise TokenError("refresh token already used; the session is revoked")
        refresh_tokens.mark_used(self.db, digest, moment)
        return self.issue(user, session=claimed["family"])

    # -- revoking --------------------------------------------------------

    def session_of(self, refresh_token):
        doc = refresh_tokens.find(self.db, _digest(refresh_token))
        return (doc["username"], doc["family"]) if doc else None

    def revoke_session(self, username, session):
        """End a session: its refresh tokens die, its access tokens are refused."""
        self.revoke_sessions(username, [session])

    def revoke_all(self, username):
        """End every session of a user (password change, disable)."""
        sessions = refresh_tokens.sessions_of(self.db, username)
        self.revoke_sessions(username, sessions)

    def revoke_sessions(self, username, sessions):
        moment = now()
        refresh_tokens.use_up_sessions(self.db, sessions, moment)
        # Access tokens of these sessions live at most access_ttl more: remember
        # the sessions that long on the user, and forget older entries.
        until = moment + datetime.timedelta(seconds=self.access_ttl + 60)
        user = users.find(self.db, username, {"revoked_sessions": 1})
        if user is None:
            return
        stale = [sid for sid, expiry in user.get("revoked_sessions", {}).items()
                 if expiry <= moment and sid not in sessions]
        if sessions or stale:
            users.revise_revoked_sessions(self.db, user["_id"], {sid: until for sid in sessions}, stale)
        if self.user_cache is not None:
            self.user_cache.forget(username)
