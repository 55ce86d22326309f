"""bcrypt password hashes, checked in a bounded pool."""

import concurrent.futures
import os
import threading

import bcrypt

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores anything past 72 bytes; refuse rather than truncate


class PasswordError(ValueError):
    pass


class Busy(Exception):
    """Every password-checking slot stayed taken; the caller should come back shortly."""

    retry_after = 1

    def __init__(self):
        super().__init__("too many password checks in progress; try again in 1 s")


def check_strength(password):
    if len(password) < MIN_LENGTH:
        raise PasswordError(f"password must have at least {MIN_LENGTH} characters")
    if len(password.encode()) > MAX_BYTES:
        raise PasswordError(f"password must be at most {MAX_BYTES} bytes")


class Hasher:
    """Hashes with a fixed cost; checks cost the same whether or not a user exists.

    Checks run in a pool of `slots` threads at the lowest CPU priority
    (bcrypt leaves the GIL, so unbounded checks would take every core and
    server thread, and the kernel would share cores evenly with /health). A
    check waits `wait` seconds for a free slot (by default none), then raises
    Busy rather than hold a server thread that other requests need.
    """

    def __init__(self, rounds, slots=1, wait=0):
        self.rounds = rounds
        self.wait = wait
        self._slots = threading.BoundedSemaphore(slots)
        self._pool = concurrent.futures.ThreadPoolExecutor(slots, "bcrypt", initializer=_lowest_priority)
        self._dummy = bcrypt.hashpw(b"no such user", bcrypt.gensalt(rounds))

    def hash(self, password):
        return bcrypt.hashpw(password.encode(), bcrypt.gensalt(self.rounds)).decode()

    def verify(self, password, hashed, wait=None):
        wait = self.wait if wait is None else wait
        if not (self._slots.acquire(timeout=wait) if wait > 0 else self._slots.acquire(blocking=False)):
            raise Busy()
        try:
            return self._pool.submit(self._check, password, hashed).result()
        finally:
            self._slots.release()

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
