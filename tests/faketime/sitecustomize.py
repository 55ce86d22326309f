"""Imported at start-up (through PYTHONPATH) by the programs tests run on a faked clock (tests.faketime).

With FAKETIME_DONT_FAKE_MONOTONIC, libfaketime 0.9.10 (Debian 12 and 13) turns
Python >= 3.11's time.sleep, a clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME),
into EINVAL (libfaketime issue 426). This sleeps as long through select().
"""

import select
import time


def _sleep(seconds):
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        select.select([], [], [], left)


time.sleep = _sleep
