"""The writer-helper run as the operator runs it, on loop devices from CARDSHOP_LOOP_DEVICES, paths in a temp dir."""

import contextlib
import os
import queue
import subprocess
import sys
import threading

import pytest

from devstack import cards
from devstack.servers import REPO

HELPER = os.path.join(REPO, "daemons", "cardshop-writer-helper")
GROUP = "disk"  # the group the helper gives the readers' nodes here (a test host has no group cardshop)


class Helper:
    def __init__(self, root):
        self.config_dir = os.path.join(root, "etc", "cardshop")
        self.rules_dir = os.path.join(root, "etc", "udev", "rules.d")
        self.wants_dir = os.path.join(root, "etc", "systemd", "system", "cardshop.target.wants")
        self.dev_dir = os.path.join(root, "dev")  # no udevd applies the rule in a temp folder: the helper links
        self.run_dir = os.path.join(root, "run")  # where the slots would publish their state
        self.slots = os.path.join(self.config_dir, "slots.yaml")
        self.writer = os.path.join(self.config_dir, "writer.yaml")
        self.rule = os.path.join(self.rules_dir, "61-cardshop-slots.rules")

    def command(self, *args):
        return [sys.executable, HELPER, "--config-dir", self.config_dir, "--rules-dir", self.rules_dir,
                "--systemd-dir", self.wants_dir, "--dev-dir", self.dev_dir, "--device-group", GROUP,
                "--run-dir", self.run_dir, *args]

    def link(self, number):
        """Slot `number`'s link as the helper made it (in the test's /dev)."""
        return os.path.join(self.dev_dir, "cardshop", f"slot-{number}")

    def __call__(self, *args, timeout=60, stdin=None):
        """Run the helper to its end; `stdin` is the text it reads (none: no input, and no terminal)."""
        return subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout, cwd=REPO,
                              **({"stdin": subprocess.DEVNULL} if stdin is None else {"input": stdin}))

    def start(self, *args):
        """The helper in the background, its stdin a pipe; `.lines` receives its stdout line by line."""
        process = subprocess.Popen(self.command(*args), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, bufsize=1, cwd=REPO)
        process.lines = queue.Queue()

        def pump():
            for line in process.stdout:
                process.lines.put(line.rstrip("\n"))
            process.lines.put(None)
        threading.Thread(target=pump, daemon=True).start()
        return process

    @contextlib.contextmanager
    def running(self, *args):
        """start(), and the process killed after the block if it is still there."""
        process = self.start(*args)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def wait_for_line(process, needle, timeout=30):
    """The first line of the process's output holding `needle` (lines before it are skipped)."""
    seen = []
    while True:
        try:
            line = process.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line with {needle!r} within {timeout} s; saw {seen}") from None
        if line is None:
            raise AssertionError(f"exited without {needle!r}; saw {seen}; stderr {process.stderr.read()}")
        seen.append(line)
        if needle in line:
            return line


@pytest.fixture
def helper(tmp_path):
    return Helper(str(tmp_path))


@pytest.fixture
def readers(tmp_path):
    """Two empty card readers of this suite's pool; any card put in is taken out after the test."""
    taken = cards.take_readers(2)
    before = {device: os.stat(device) for device in taken}
    yield taken
    for device in taken:
        cards.remove(device)
        os.chown(device, before[device].st_uid, before[device].st_gid)  # as the helper found them
        os.chmod(device, before[device].st_mode & 0o7777)
