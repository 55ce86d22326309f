"""A per-address token bucket for password checks, kept in memory.

bcrypt is meant to be slow: without a bound, a few clients sending logins
keep every server thread hashing and nothing else gets answered. Each client
address gets `burst` checks at once, refilled at `rate` per second; beyond
that it is told to come back later before any password is looked at.
"""

import math
import threading
import time

MAX_ADDRESSES = 10000  # bound memory under a flood of addresses


class RateLimited(Exception):
    def __init__(self, retry_after):
        self.retry_after = retry_after
        super().__init__(f"too many login attempts from this address; try again in {retry_after} s")


class RateLimit:
    def __init__(self, rate, burst):
        self.rate = rate
        self.burst = burst
        self._buckets = {}  # address -> (tokens, monotonic time)
        self._lock = threading.Lock()

    def take(self, address):
        """Spend one check for `address`, or raise RateLimited."""
        moment = time.monotonic()
        with self._lock:
            tokens, since = self._buckets.get(address, (self.burst, moment))
            tokens = min(self.burst, tokens + (moment - since) * self.rate)
            if tokens < 1:
                self._buckets[address] = (tokens, moment)
                raise RateLimited(max(1, math.ceil((1 - tokens) / self.rate)))
            if len(self._buckets) >= MAX_ADDRESSES and address not in self._buckets:
                self._buckets = {key: value for key, value in self._buckets.items()
                                 if value[0] + (moment - value[1]) * self.rate < self.burst}
            self._buckets[address] = (tokens - 1, moment)
