"""A process whose PID file names a live process is never started again over it (that one would be lost)."""

import pytest

from devstack.processes import Process, StackError


def test_a_start_over_a_live_earlier_start_is_refused_and_the_earlier_one_stays_known(tmp_path):
    first = Process("server", str(tmp_path))
    first.start(["sleep", "30"])
    try:
        again = Process("server", str(tmp_path))  # a later `make up`: a new object, the same PID file
        with pytest.raises(StackError, match=r"still running \(pid \d+"):
            again.start(["sleep", "30"])
        assert again.pid == first.popen.pid and again.running()
    finally:
        first.stop(timeout=5)
    assert not first.running()
    later = Process("server", str(tmp_path))
    later.start(["true"])  # once stopped, the name is free again
    later.stop(timeout=5)

