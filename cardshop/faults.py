"""Transient or final: the one place that decides whether a failure is worth retrying.

Transient: the other side is away for now (connection refused or reset,
timeouts, name lookups, HTTP 5xx/408/429, FTP 4xx such as 421 "try later"
and 452 "disk momentarily full", the broker restarting). Final: retrying
gives the same answer (checksum mismatch, HTTP 404, FTP 5xx such as 550 or
553, an impossible recipe, content too large, a certificate that does not
verify). An error raised while handling another keeps it as its context
(even `raise ... from None` does), so the whole chain is examined: the
first link that knows wins.

`Backoff` is the one retry policy: every loop in cardshop that tries again
waits through one (exponential back-off with jitter, a stop that ends a wait
at once, an optional window, its retries counted in one place). `Retry`
runs a call again through a Backoff while its failures are transient, for a
window of time, and says what it does. A failure may say what state its
dependency is in with `state` and `detail` ("full", "734003200 bytes
needed, 52428800 free"); without them the dependency is "unreachable" and
the cause is named.
"""

import errno
import ftplib
import http.client
import logging
import random
import socket
import ssl
import threading
import time
import urllib.error

import kombu.exceptions

from cardshop.cancellable import Canceled

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
    return words(list(_chain(exc))[-1])


def words(exc):
    """`exc` in a few words of our own: what an HTTP server sent (reason phrases, bad status lines) is never
    echoed; an FTP reply of our warehouse is ("421 try later")."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return words(exc.reason) if isinstance(exc.reason, BaseException) else "unreachable"
    for kind, said in _PLAIN.items():
        if isinstance(exc, kind):
            return said
    if isinstance(exc, (ConnectionError, http.client.IncompleteRead)):
        return "connection lost"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS failed ({exc.reason})"
    if isinstance(exc, http.client.HTTPException):
        return f"not a valid HTTP reply ({type(exc).__name__})"
    if isinstance(exc, socket.gaierror):
        return f"name lookup failed ({exc.strerror})"
    if isinstance(exc, OSError):
        return (exc.strerror[:1].lower() + exc.strerror[1:]) if exc.strerror else (str(exc) or type(exc).__name__)
    return str(exc) or type(exc).__name__


def duration(seconds):
    if seconds >= 90:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"


def backoff(attempt, first=BACKOFF_FIRST, most=BACKOFF_MAX):
    """The wait before retry number `attempt` (1, 2, ...), with jitter."""
    step = min(most, first * 2 ** (attempt - 1))
    return step * random.uniform(1 - JITTER, 1 + JITTER)


class Backoff:
    """The waits of one retry loop: the policy every loop in cardshop that tries again follows.

    Retry number n (counted here, once) waits `first` doubled n - 1 times, at
    most `most`, drawn within ±JITTER of that step (so that clients that lost
    the same dependency do not come back in step). `stop` is anything whose
    `wait(seconds)` returns True once stopped (a threading.Event, a
    CancelToken): it ends a wait at once. With a `window` (seconds), no wait
    runs past it and `over` says when it is spent.
    """

    def __init__(self, first=BACKOFF_FIRST, most=BACKOFF_MAX, window=None, stop=None):
        self.first, self.most, self.window = first, most, window
        self.stop = stop if stop is not None else threading.Event()
        self.reset()

    def reset(self):
        """Start again from the first step (the dependency answered)."""
        self.attempt = 0  # retries so far
        self.started = time.monotonic()

    @property
    def spent(self):
        return time.monotonic() - self.started

    @property
    def over(self):
        return self.window is not None and self.spent >= self.window

    def next(self):
        """Count one more retry; the seconds to wait before it."""
        self.attempt += 1
        delay = backoff(self.attempt, self.first, self.most)
        if self.window is not None:
            delay = max(0.0, min(delay, self.window - self.spent))
        return delay

    def sleep(self, seconds):
        """Wait `seconds`, or less if stopped meanwhile; whether it was stopped."""
        return bool(self.stop.wait(seconds))

    def wait(self):
        """Count a retry and wait for it: whether it was stopped meanwhile."""
        return self.sleep(self.next())


_STOPPING_LOCK = threading.Lock()


class Stoppable:
    """kombu's ConsumerMixin `should_stop` backed by an Event (`stopping`): setting it ends a back-off wait at once."""

    @property
    def stopping(self):
        with _STOPPING_LOCK:
            if "_stopping" not in self.__dict__:
                self._stopping = threading.Event()
            return self._stopping

    @property
    def should_stop(self):
        return self.stopping.is_set()

    @should_stop.setter
    def should_stop(self, value):
        if value:
            self.stopping.set()
        else:
            self.stopping.clear()


class Retry:
    """Call again while failures are transient, for `window` seconds; then raise GaveUp.

    Before each wait, `say(short, long)` is told what happens: short fits a
    progress step ("warehouse unreachable, retry 3 in 8 s"), long names the
    cause ("warehouse ftp://h:21/ unreachable, retry 3 in 8 s: connection
    refused"). `stop` ends a wait at once (a Backoff's stop, such as the
    task's CancelToken): Canceled is raised then, unless its own `wait`
    raised something more telling.
    """

    def __init__(self, window, say=None, stop=None, first=BACKOFF_FIRST, most=BACKOFF_MAX):
        self.window = window
        self.say = say or (lambda short, long: log.warning("%s", long))
        self.stop = stop
        self.first, self.most = first, most

    def __call__(self, call, who, what=None):
        """call()'s result. `who` names the dependency ("warehouse"); `what` adds where
        ("warehouse ftp://h:21/"); without it, the failure's own message says where."""
        waits = Backoff(self.first, self.most, self.window, self.stop)
        while True:
            try:
                return call()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                state, detail = _state(exc)
                if detail:  # the failure says what is wrong: "warehouse ftp://h:21/ full: 5 bytes needed, 0 free"
                    lead = f"{what or who} {state}: {detail}"
                else:
                    lead = f"{what}: {cause(exc)}" if what else str(exc)
                if waits.over:
                    raise GaveUp(f"{lead} (retried for {duration(waits.spent)})") from exc
                delay = waits.next()
                retry = f"retry {waits.attempt} in {delay:.0f} s"
                said = f"{lead}, {retry}" if detail else \
                    f"{what or who} {state}, {retry}: {cause(exc) if what else exc}"
                self.say(f"{who} {state}, {retry}", said)
            if waits.sleep(delay):
                raise Canceled(getattr(self.stop, "reason", None) or "stopped")
