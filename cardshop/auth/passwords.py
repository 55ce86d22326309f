"""bcrypt password hashes, checked a few at a time through the fair queue (checkqueue.py)."""

import concurrent.futures
import os
import threading

import bcrypt

from cardshop.auth.checkqueue import Busy, CheckQueue, TooManyWaiting

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores anything past 72 bytes; refuse rather than truncate

__all__ = ["Busy", "Hasher", "PasswordError", "TooManyWaiting", "check_strength"]


class PasswordError(ValueError):
    pass


def check_strength(password):
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"password must have at least {MIN_LENGTH} characters")
    if len(password.encode()) > MAX_BYTES:
        raise PasswordError(f"password must be at most {MAX_BYTES} bytes")


class Hasher:
    """Hashes with a fixed cost; checks cost the same whether or not a user exists.

    bcrypt leaves the GIL, so unbounded checks would take every core and
    server thread: checks run in threads, as many as the queue has slots, and
    which check runs next is the queue's business. A failing client's checks
    run at the lowest CPU priority: a flood of guesses then uses only idle
    CPU, and /health and the clean clients' checks (at normal priority, so
    that a correct login takes a quarter second even on a busy machine) keep
    their share of the cores.
    """

    def __init__(self, rounds, queue=None):
        self.rounds = rounds
        self.queue = queue or CheckQueue()
        self._pools = (concurrent.futures.ThreadPoolExecutor(self.queue.slots, "bcrypt"),
                       concurrent.futures.ThreadPoolExecutor(self.queue.slots, "bcrypt-failing",
                                                             initializer=_lowest_priority))
        self._dummy = bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds))

    def hash(self, password):
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.rounds)).decode()

    def verify(self, password, hashed, client="local", account=""):
        """Whether `password` matches `hashed` (None: no such user), checked in `client`'s lane of the queue.

        Raises Busy (or TooManyWaiting) when the check gets no turn in time.
        """
        return self.queue.run(client, account, lambda clean: self._pools[0 if clean else 1].submit(
            self._check, password, hashed).result())

    def _check(self, password, hashed):
        encoded = password.encode()
        if hashed is None or len(encoded) > MAX_BYTES:
            bcrypt.checkpw(b"timing", self._dummy)
            return False
        return bcrypt.checkpw(encoded, hashed.encode())


def _lowest_priority():
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)  # this thread only, on Linux
    except OSError:
        pass
