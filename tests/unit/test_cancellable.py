"""Canceling kills a command's whole process group, promptly."""

import os
import threading
import time

import pytest

from cardshop.cancellable import Canceled, CancelToken, CommandError, reading, run


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_a_canceled_command_and_its_children_die_within_a_second(tmp_path):
    pids = tmp_path / "pids"
    token = CancelToken()
    threading.Timer(0.5, token.cancel, args=("stop",)).start()
    started = time.monotonic()
    with pytest.raises(Canceled, match="stop"):
        run(["sh", "-c", f"sleep 60 & echo $! > {pids}; sleep 60"], token)
    assert time.monotonic() - started < 2
    time.sleep(0.2)
    assert not alive(int(pids.read_text()))


def test_a_failing_command_names_itself_and_its_last_error_line():
    with pytest.raises(CommandError, match=r"sh failed \(exit 3\): boom"):
        run(["sh", "-c", "echo boom >&2; exit 3"])


def test_a_command_that_succeeds_returns_quietly(tmp_path):
    run(["touch", str(tmp_path / "x")])
    assert os.path.exists(tmp_path / "x")


def test_a_command_read_to_its_end_gives_its_output_then_its_failure():
    with pytest.raises(CommandError, match=r"sh failed \(exit 3\): boom"):
        with reading(["sh", "-c", "echo out; echo boom >&2; exit 3"]) as pipe:
            assert pipe.read() == b"out\n"


def test_leaving_a_read_early_by_an_error_kills_the_command_and_its_children(tmp_path):
    pids = tmp_path / "pids"
    started = time.monotonic()
    with pytest.raises(ValueError):
        with reading(["sh", "-c", f"sleep 60 & echo $! > {pids}; yes"]) as pipe:
            pipe.read(4096)
            raise ValueError("enough")
    assert time.monotonic() - started < 2
    time.sleep(0.2)
    assert not alive(int(pids.read_text()))
