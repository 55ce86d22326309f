"""Stop (or restart) writer@N once its slot is idle, with no task able to start in between.

The helper asks the slot to drain (a `drain` file beside its state file,
cardshop/pipeline/slot_state.py). From then on the slot itself refuses tasks:
it finishes the card it writes, hands a delivery that arrives meanwhile back to
the queue, and says `drained` once it holds nothing. Only then is it stopped, so
the check and the stop cannot be split by a task.

A drain that times out leaves the request in place: the slot goes on with its
card and takes no new task, until a later drain stops it or `resume` withdraws
the request (or the unit stops, which ends the request with its run).

Under systemd a slot is writer@N; without it (the local stack, tests) it is the
cardshop-writer process its state file names, stopped with SIGTERM.
"""

import os
import signal
import time

from cardshop.pipeline import slot_state
from cardshop.writer_helper import units

POLL = 0.5  # seconds between looks at the slot's state
STOP_WAIT = 30  # seconds a slot without systemd has to exit after SIGTERM


class DrainError(Exception):
    """The slot could not be stopped."""


class SystemdSlot:
    """writer@N under systemd."""

    can_restart = True

    def __init__(self, number):
        self.number = number

    def running(self):
        return units.active_state(self.number) in units.RUNNING

    def enabled(self):
        return units.is_enabled(self.number)

    def stop(self):
        units.stop(self.number)

    def restart(self):
        units.restart(self.number)


class ProcessSlot:
    """A slot run without systemd: the cardshop-writer process its state file names."""

    can_restart = False

    def __init__(self, number, runtime_dir):
        self.number = number
        self.runtime_dir = runtime_dir

    def _pid(self):
        document = slot_state.read(self.runtime_dir, self.number)
        if document is None or not _is_slot_process(document["pid"], self.number):
            return None  # gone (a state left by a killed slot names a pid that is not it)
        return document["pid"]

    def running(self):
        return self._pid() is not None

    def enabled(self):
        return False  # nothing starts it again

    def stop(self):
        pid = self._pid()
        if pid is None:
            return
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        except OSError as exc:
            raise DrainError(f"cannot stop slot {self.number} (pid {pid}): {exc.strerror}") from None
        deadline = time.monotonic() + STOP_WAIT
        while _is_slot_process(pid, self.number):
            if time.monotonic() > deadline:
                raise DrainError(f"slot {self.number} (pid {pid}) did not exit within {STOP_WAIT} s of SIGTERM")
            time.sleep(0.1)

    def restart(self):
        raise DrainError("without systemd nothing starts a slot again: drain it, then start it yourself")


def _is_slot_process(pid, number):
    """Whether `pid` is a running `cardshop-writer ... --slot <number>` (an exited one has no command line)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            args = [arg.decode(errors="replace") for arg in handle.read().split(b"\0")]
    except OSError:
        return False
    return (any(os.path.basename(arg) == "cardshop-writer" for arg in args)
            and any(arg == "--slot" and value == str(number) for arg, value in zip(args, args[1:])))


def wait_drained(slot, runtime_dir, timeout=None):
    """Ask the slot to drain and wait: ("not_running", None), ("drained", state) or, once `timeout` seconds
    passed, ("busy", state); the state is the slot's last (None when it published none)."""
    if not slot.running():
        return "not_running", None
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        # Asked again at each look: a slot restarted meanwhile (a crash) came up without the request.
        slot_state.request_drain(runtime_dir, slot.number)
        document = slot_state.read(runtime_dir, slot.number)
        if document is not None and document["drained"]:
            return "drained", document
        if not slot.running():
            return "not_running", None
        if deadline is not None and time.monotonic() >= deadline:
            return "busy", document
        time.sleep(POLL)


def drain(slot, runtime_dir, timeout=None, restart=False):
    """Stop (`restart`: restart) the slot once it is drained: {"slot", "result", "changed", "state"}, result
    one of stopped, restarted, not_running, not_enabled, busy (`timeout` passed: nothing stopped)."""
    outcome, document = wait_drained(slot, runtime_dir, timeout)

    def result(name, changed):
        return {"slot": slot.number, "result": name, "changed": changed, "state": document}

    if outcome == "busy":
        return result("busy", False)
    if outcome == "not_running" and restart and not slot.enabled():
        return result("not_enabled", False)
    if outcome == "not_running" and not restart:
        slot_state.withdraw_drain(runtime_dir, slot.number)  # a folder without systemd outlives its slot
        return result("not_running", False)
    if restart:
        slot.restart()
    else:
        slot.stop()
    slot_state.withdraw_drain(runtime_dir, slot.number)
    return result("restarted" if restart else "stopped", True)


def describe(document):
    """A slot's state in words, from its state file (for messages to people)."""
    if document is None:
        return "no state published"
    words = document["state"]
    if document.get("step"):
        words += f", {document['step']}"
    if document.get("order"):
        words += f" order {document['order']}"
    return words + (", draining" if document["draining"] else "")
