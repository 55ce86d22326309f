"""Transient or final: the one place that decides whether a failure is worth retrying.

Transient: the other side is away for now (connection refused or reset,
timeouts, name lookups, HTTP 5xx/408/429, FTP 4xx such as 421 "try later"
and 452 "disk momentarily full", the broker restarting). Final: retrying
gives the same answer (checksum mismatch, HTTP 404, FTP 5xx such as 550 or
553, an impossible recipe, content too large, a certificate that does not
verify). An error raised while handling another keeps it as its context
(even `raise ... from None` does), so the whole chain is examined: the
first link that knows wins.

`Retry` runs a call again with exponential back-off and jitter while its
failures are transient, for a window of time, and says what it does. A
failure may say what state its dependency is in with `state` and `detail`
("full", "734003200 bytes needed, 52428800 free"); without them the
dependency is "unreachable" and the cause is named.
"""

import errno
import ftplib
import http.client
import logging
import random
import socket
import ssl
import time
import urllib.error

import kombu.exceptions

log = logging.getLogger(__name__)

BACKOFF_FIRST = 2.0  # seconds before the first retry; doubles each time
BACKOFF_MAX = 60.0
JITTER = 0.2  # each wait is drawn within ±20 % of its step

_TRANSIENT_ERRNOS = {errno.ECONNREFUSED, errno.ECONNRESET, errno.ECONNABORTED, errno.EPIPE, errno.ETIMEDOUT,
                     errno.EHOSTUNREACH, errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTDOWN, errno.EAGAIN}


class GaveUp(Exception):
    """Transient failures that lasted the whole window; a later retry of the task may succeed."""

    transient = False  # retrying inside this task is over
    retryable = True


def _verdict(exc):
    """True (transient), False (final) or None (this link does not say)."""
    explicit = getattr(exc, "transient", None)
    if explicit is not None:
        return bool(explicit)
    if isinstance(exc, ftplib.error_temp):  # 4xx, including 421 and 452
        return True
    if isinstance(exc, (ftplib.error_perm, ftplib.error_proto)):
        return False
    if isinstance(exc, urllib.error.HTTPError):
        return exc.code >= 500 or exc.code in (408, 429)
    if isinstance(exc, urllib.error.URLError):
        return _verdict(exc.reason) if isinstance(exc.reason, BaseException) else True
    if isinstance(exc, ssl.SSLCertVerificationError):
        return False
    if isinstance(exc, (TimeoutError, socket.timeout, socket.gaierror, ConnectionError, EOFError, http.client.IncompleteRead,
                        ssl.SSLEOFError, ssl.SSLZeroReturnError, kombu.exceptions.OperationalError)):
        return True
    if isinstance(exc, OSError) and exc.errno in _TRANSIENT_ERRNOS:
        return True
    return None


def _chain(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def is_transient(exc):
    """Whether `exc` (or what caused it) is worth retrying soon; unknown failures are final."""
    for link in _chain(exc):
        verdict = _verdict(link)
        if verdict is not None:
            return verdict
    return False


_PLAIN = {ConnectionRefusedError: "connection refused", ConnectionResetError: "connection reset",
          ConnectionAbortedError: "connection aborted", BrokenPipeError: "connection closed",
          socket.timeout: "timed out", TimeoutError: "timed out", EOFError: "connection closed"}


def _state(exc):
    """(state, detail) of the first link that tells them, else ("unreachable", None)."""
    for link in _chain(exc):
        if getattr(link, "state", None):
            return link.state, getattr(link, "detail", None)
    return "unreachable", None


def cause(exc):
    """The root cause in a few words: "connection refused", "421 try later", "HTTP 503"."""
    root = list(_chain(exc))[-1]
    for kind, words in _PLAIN.items():
        if isinstance(root, kind):
            return words
    if isinstance(root, urllib.error.HTTPError):
        return f"HTTP {root.code}"
    if isinstance(root, urllib.error.URLError):
        return str(root.reason)
    if isinstance(root, socket.gaierror):
        return f"name lookup failed ({root.strerror})"
    if isinstance(root, OSError) and root.strerror:
        return root.strerror[:1].lower() + root.strerror[1:]
    return str(root) or type(root).__name__


def duration(seconds):
    if seconds >= 90:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def backoff(attempt, first=BACKOFF_FIRST, most=BACKOFF_MAX):
    """The wait before retry number `attempt` (1, 2, ...), with jitter."""
    step = min(most, first * 2 ** (attempt - 1))
    return step * random.uniform(1 - JITTER, 1 + JITTER)


class Retry:
    """Call again while failures are transient, for `window` seconds; then raise GaveUp.

    Before each wait, `say(short, long)` is told what happens: short fits a
    progress step ("warehouse unreachable, retry 3 in 8 s"), long names the
    cause ("warehouse ftp://h:21/ unreachable, retry 3 in 8 s: connection
    refused"). `wait(seconds)` sleeps (a cancel token's wait, so that a
    cancel interrupts it).
    """

    def __init__(self, window, say=None, wait=time.sleep, first=BACKOFF_FIRST, most=BACKOFF_MAX):
        self.window = window
        self.say = say or (lambda short, long: log.warning("%s", long))
        self.wait = wait
        self.first, self.most = first, most

    def __call__(self, call, who, what=None):
        """call()'s result. `who` names the dependency ("warehouse"); `what` adds where
        ("warehouse ftp://h:21/"); without it, the failure's own message says where."""
        started = time.monotonic()
        attempt = 0
        while True:
            try:
                return call()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                spent = time.monotonic() - started
                state, detail = _state(exc)
                if detail:  # the failure says what is wrong: "warehouse ftp://h:21/ full: 5 bytes needed, 0 free"
                    lead = f"{what or who} {state}: {detail}"
                else:
                    lead = f"{what}: {cause(exc)}" if what else str(exc)
                if spent >= self.window:
                    raise GaveUp(f"{lead} (retried for {duration(spent)})") from exc
                attempt += 1
                delay = min(backoff(attempt, self.first, self.most), self.window - spent)
                retry = f"retry {attempt} in {delay:.0f} s"
                said = f"{lead}, {retry}" if detail else \
                    f"{what or who} {state}, {retry}: {cause(exc) if what else exc}"
                self.say(f"{who} {state}, {retry}", said)
                self.wait(delay)
