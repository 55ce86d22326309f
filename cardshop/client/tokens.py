"""Token login against the scheduler: log in once, then refresh.

`Login` holds one user's access/refresh pair; the CLI caches it on disk and
refreshes on a 401, a worker (`TokenSource`) refreshes ahead of expiry and
logs in again with its password when the refresh is refused.
"""

import dataclasses
import threading
import time

from cardshop.client.http import ApiClient
from cardshop.proxies import CLIENT_ADDRESS_HEADER

MARGIN = 300  # a worker refreshes this long before the access token expires


class CredentialsError(Exception):
    """The scheduler did not give a token; `transient` when it was busy or failing (5xx, 408, 429), not a no."""

    def __init__(self, message, transient=False):
        super().__init__(message)
        self.transient = transient


@dataclasses.dataclass
class Login:
    """One user's token pair; each call returns the scheduler's Response."""

    client: ApiClient
    username: str | None = None
    pair: dict | None = None

    def authorize(self, username, password, client_address=None):
        """`client_address`: whom a proxy (the manager) logs in for; the API believes it only from its
        trusted proxies, and counts failed logins against it."""
        headers = {CLIENT_ADDRESS_HEADER: client_address} if client_address else None
        reply = self.client.post("/auth/authorize", {"username": username, "password": password}, token="",
                                 headers=headers)
        if reply.status == 200:
            self._keep(username, reply.body)
        return reply

    def refresh(self):
        """Trade the refresh token for a new pair; None when there is no refresh token."""
        if not (self.pair and self.pair.get("refresh_token")):
            return None
        reply = self.client.post("/auth/token", {"refresh_token": self.pair["refresh_token"]}, token="")
        if reply.status == 200:
            self._keep(self.username, reply.body)
        return reply

    def revoke(self):
        if self.pair and self.pair.get("refresh_token"):
            self.client.post("/auth/revoke", {"refresh_token": self.pair["refresh_token"]}, token="")
        self.pair = None

    def _keep(self, username, pair):
        self.username = username
        self.pair = pair
        self.client.token = pair["access_token"]


class TokenSource:
    """A worker's access token for the warehouse and the API, renewed ahead of expiry."""

    def __init__(self, api_url, username, password, timeout=15, ca_file=None):
        self.client = ApiClient(api_url, timeout=timeout, ca_file=ca_file)
        self.username = username
        self._password = password
        self._login = Login(self.client, username)
        self._expires = 0.0
        self._lock = threading.Lock()

    def access_token(self):
        with self._lock:
            if self._login.pair is None or time.time() > self._expires - MARGIN:
                self._renew()
            return self._login.pair["access_token"]

    def _renew(self):
        reply = self._login.refresh()
        if reply is None or reply.status != 200:
            reply = self._login.authorize(self.username, self._password)
        if reply.status != 200:
            busy = reply.status >= 500 or reply.status in (408, 429)
            raise CredentialsError(f"the scheduler {'could not take' if busy else 'refused'} {self.username}'s "
                                   f"login (HTTP {reply.status}): {reply.error}", transient=busy)
        self._expires = time.time() + reply.body["expires_in"]
