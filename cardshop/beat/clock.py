"""The beat's clock against the database server's: followed when close, refused loudly when far.

The beat stamps and compares times with cardshop.store.now(), which follows
the database server's clock once measured (cardshop.store.clock): a skew
within `beat.max_clock_skew` changes nothing. Beyond it, following is not
enough: the monitor on the same host stamps reports and heartbeats with the
same wrong clock, or the measurement itself is off. The beat then logs an
error, says so in its STATUS line and in the scheduler's /health (through
the `clock_checks` record), and its time-based jobs skip their runs
(cardshop.domain.jobs.TIME_BASED) instead of timing out live work.
"""

import logging
import socket
import threading
import time

import pymongo.errors

from cardshop.store import clock, clock_checks

log = logging.getLogger(__name__)

NAME = "beat"  # its record in clock_checks
CHECK_EVERY = 10  # seconds between checks; a time-based job also checks just before it runs
REPEAT_EVERY = 300  # seconds between error lines while the skew lasts
RUNNING = "running the schedule"


def describe(skew):
    """'1200 s ahead of' / '45 s behind'."""
    return f"{abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'}"


class ClockWatch:
    def __init__(self, db, max_skew, notifier):
        self.db = db
        self.max_skew = max_skew
        self.notifier = notifier
        self.reading = None  # the last good measurement
        self._lock = threading.Lock()  # the watch thread and the jobs both check
        self._errored_at = None  # monotonic time of the last error line of this skew
        self._unmeasured = False  # the last attempt failed (logged once per failure)

    def skewed(self):
        return self.reading is not None and abs(self.reading.skew) > self.max_skew

    def refusal(self):
        """Why time-based jobs must not run now, or None."""
        if self.reading is None:
            return "the clock was not yet measured against the database server's"
        if self.skewed():
            return f"clock skew {abs(self.reading.skew):.0f} s > {self.max_skew} s"
        return None

    def status_line(self):
        if not self.skewed():
            return RUNNING
        return (f"{RUNNING}; CLOCK {describe(self.reading.skew)} the database server's (bound {self.max_skew} s): "
                "time-outs, offline checks and expiries paused")

    def check(self):
        """Measure, follow the server's clock, say what changed and record it; returns refusal()."""
        with self._lock:
            try:
                reading = clock.measure(self.db)
            except (pymongo.errors.PyMongoError, clock.ClockUnknown) as exc:
                if not self._unmeasured:
                    log.warning("cannot measure the clock against the database server's: %s", exc)
                self._unmeasured = True
                return self.refusal()
            self._unmeasured = False
            clock.follow(reading)
            was_skewed, first = self.skewed(), self.reading is None
            self.reading = reading
            self._say(first or was_skewed != self.skewed())
            self._record()
            return self.refusal()

    def _say(self, changed):
        if self.skewed() and (changed or time.monotonic() - self._errored_at >= REPEAT_EVERY):
            log.error("this host's clock is %s the database server's, more than beat.max_clock_skew (%d s): "
                      "time-based jobs skip their runs until the clocks agree; check time synchronisation",
                      describe(self.reading.skew), self.max_skew)
            self._errored_at = time.monotonic()
        elif changed and not self.skewed() and self._errored_at is not None:
            log.warning("this host's clock agrees with the database server's again (%s it); time-based jobs run "
                        "again", describe(self.reading.skew))
            self._errored_at = None
        if changed:
            self.notifier.status(self.status_line())

    def _record(self):
        try:
            clock_checks.record(self.db, NAME, {
                "skew_seconds": round(self.reading.skew, 3), "round_trip_seconds": round(self.reading.round_trip, 4),
                "max_skew_seconds": self.max_skew, "ok": not self.skewed(), "measured_at": clock.now(),
                "host": socket.gethostname()})
        except pymongo.errors.PyMongoError as exc:
            log.warning("cannot record the clock check: %s", exc)

    def start(self):
        """Check every CHECK_EVERY seconds from a thread of its own, for the life of the process."""
        def loop():
            while True:
                time.sleep(CHECK_EVERY)
                try:
                    self.check()
                except Exception:  # keep watching: a dead watch would leave a stale verdict
                    log.exception("the clock check failed")
        threading.Thread(target=loop, name="clock-watch", daemon=True).start()
