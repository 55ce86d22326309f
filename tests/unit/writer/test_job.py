"""A write job's guard is the cancel token of what the job runs, the image's unpacking included."""

import threading
import time

import pytest

from cardshop.cancellable import Canceled, CancelToken, run
from cardshop.writer.job import Guard
from cardshop.writer.slot import Slot


def test_a_command_that_outlasts_one_poll_runs_to_its_end_under_a_jobs_guard():
    # Unpacking a real image (zstd) takes longer than run()'s 0.2 s poll: the guard is looked at meanwhile.
    run(["sleep", "0.5"], Guard(CancelToken(), Slot(1, "/dev/null")))


def test_a_cancel_broadcast_stops_a_command_run_under_a_jobs_guard():
    token = CancelToken()
    timer = threading.Timer(0.3, token.cancel, ["canceled by admin"])
    timer.start()
    started = time.monotonic()
    with pytest.raises(Canceled, match="canceled by admin"):
        run(["sleep", "30"], Guard(token, Slot(1, "/dev/null")))
    assert time.monotonic() - started < 10
