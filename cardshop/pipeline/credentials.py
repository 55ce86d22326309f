"""A worker's access token for the warehouse, from the scheduler: log in once, then refresh.

Workers call the scheduler for nothing else.
"""

import threading
import time

from cardshop.cli.client import ApiClient

MARGIN = 300  # refresh this long before the access token expires


class CredentialsError(Exception):
    pass


class TokenSource:
    def __init__(self, api_url, username, password, timeout=15):
        self.client = ApiClient(api_url, timeout=timeout)
        self.username = username
        self._password = password
        self._pair = None
        self._expires = 0.0
        self._lock = threading.Lock()

    def access_token(self):
        with self._lock:
            if self._pair is None or time.time() > self._expires - MARGIN:
                self._renew()
            return self._pair["access_token"]

    def _renew(self):
        reply = None
        if self._pair is not None:
            reply = self.client.post("/auth/token", {"refresh_token": self._pair["refresh_token"]})
        if reply is None or reply.status != 200:
            reply = self.client.post("/auth/authorize", {"username": self.username, "password": self._password})
        if reply.status != 200:
            raise CredentialsError(f"the scheduler refused {self.username}'s login: {reply.error}")
        self._pair = reply.body
        self._expires = time.time() + reply.body["expires_in"]
