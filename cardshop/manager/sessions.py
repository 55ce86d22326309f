"""Browser sessions: each holds one user's own API tokens, server-side, behind a signed cookie.

The cookie carries only a random session id and its HMAC; the tokens never
leave the manager. A session's refresh token is single use, so refreshing is
serialized per session (a page and its live poll may ask at the same time).
CSRF tokens are the HMAC of the session id; before login, of a signed nonce.
"""

import dataclasses
import hashlib
import hmac
import logging
import secrets
import threading
import time

from cardshop.client import ApiClient, Login

log = logging.getLogger(__name__)

COOKIE = "cardshop_session"
LOGIN_COOKIE = "cardshop_login"
MAX_SESSIONS = 10000  # the oldest idle ones go first beyond this


@dataclasses.dataclass
class Session:
    id: str
    login: Login
    username: str
    role: str
    csrf: str
    last_used: float = dataclasses.field(default_factory=time.monotonic)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)
    ended: bool = False

    @property
    def is_admin(self):
        return self.role == "admin"

    def call(self, method, path, body=None):
        """One API call with this user's token; one refresh and retry on 401. Returns the Response."""
        token = self.login.client.token
        reply = self.login.client.request(method, path, body, token=token)
        if reply.status != 401:
            return reply
        with self.lock:
            if self.login.client.token == token:  # nobody refreshed meanwhile
                refreshed = self.login.refresh()
                if refreshed is None or refreshed.status != 200:
                    self.ended = True
                    return reply
        return self.login.client.request(method, path, body)

    def get(self, path):
        return self.call("GET", path)

    def post(self, path, body=None):
        return self.call("POST", path, body)

    def patch(self, path, body):
        return self.call("PATCH", path, body)

    def put(self, path, body):
        return self.call("PUT", path, body)


class Sessions:
    def __init__(self, secret, api_url, idle_seconds, timeout=15, ca_file=None):
        self._key = hashlib.sha256(b"cardshop-manager:" + secret.encode()).digest()
        self.api_url = api_url
        self.ca_file = ca_file
        self.idle_seconds = idle_seconds
        self.timeout = timeout
        self._sessions = {}
        self._lock = threading.Lock()

    def _sign(self, purpose, value):
        return hmac.new(self._key, f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()

    # -- cookies ------------------------------------------------------------

    def cookie_value(self, session):
        return f"{session.id}.{self._sign('session', session.id)}"

    def from_cookie(self, value):
        """The live session a cookie names, or None (forged, unknown, idle too long, or ended)."""
        session_id, _, signature = (value or "").partition(".")
        if not session_id or not hmac.compare_digest(signature, self._sign("session", session_id)):
            return None
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                return None
            now = time.monotonic()
            if session.ended or now - session.last_used > self.idle_seconds:
                del self._sessions[session_id]
                return None
            session.last_used = now
            return session

    def login_nonce(self):
        """A value for the pre-login cookie; its CSRF token is login_csrf(value)."""
        nonce = secrets.token_urlsafe(18)
        return f"{nonce}.{self._sign('nonce', nonce)}"

    def login_csrf(self, cookie):
        nonce, _, signature = (cookie or "").partition(".")
        if not nonce or not hmac.compare_digest(signature, self._sign("nonce", nonce)):
            return None
        return self._sign("login-csrf", nonce)

    # -- log in and out -----------------------------------------------------

    def open(self, username, password, client_address):
        """Log in through the API for the browser at `client_address` (the API counts failures against it);
        returns (Session or None, the API's Response)."""
        login = Login(ApiClient(self.api_url, timeout=self.timeout, ca_file=self.ca_file))
        reply = login.authorize(username, password, client_address)
        if reply.status != 200:
            return None, reply
        me = login.client.get(f"/users/{username}")
        if me.status != 200:
            login.revoke()
            return None, me
        session_id = secrets.token_urlsafe(24)
        session = Session(session_id, login, username, me.body["role"], self._sign("csrf", session_id))
        with self._lock:
            self._prune()
            self._sessions[session_id] = session
        log.info("%s logged into the manager", username)
        return session, reply

    def close(self, session):
        with self._lock:
            self._sessions.pop(session.id, None)
        session.ended = True
        try:
            session.login.revoke()
        except Exception as exc:  # the API may be away; the session ends here anyway
            log.warning("could not revoke %s's tokens: %s", session.username, exc)

    def _prune(self):
        now = time.monotonic()
        for session_id in [key for key, value in self._sessions.items()
                           if value.ended or now - value.last_used > self.idle_seconds]:
            del self._sessions[session_id]
        while len(self._sessions) >= MAX_SESSIONS:
            oldest = min(self._sessions.values(), key=lambda value: value.last_used)
            del self._sessions[oldest.id]
