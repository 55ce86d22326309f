"""upgrade.yml and the writer role's restarts wait for a slot that is writing: the busy
test of roles/cardshop_writer/tasks/drain.yml, run with grep on the real status lines
a slot gives systemd (cardshop/writer/slot.py)."""

import os
import re
import subprocess

import pytest
import yaml

from cardshop.writer.card import Card
from cardshop.writer.slot import Slot
from tests.ansible.test_templates import ANSIBLE

DRAIN = os.path.join(ANSIBLE, "roles", "cardshop_writer", "tasks", "drain.yml")


def busy_pattern():
    with open(DRAIN) as handle:
        tasks = yaml.safe_load(handle)
    script = next(task["ansible.builtin.shell"]["cmd"] for task in tasks if "ansible.builtin.shell" in task)
    return re.search(r"grep -Eq '([^']+)'", script).group(1)


def is_busy(line):
    done = subprocess.run(["grep", "-Eq", busy_pattern()], input=line + "\n", text=True, timeout=10)
    assert done.returncode in (0, 1)
    return done.returncode == 0


def slot_in(state, message=""):
    slot = Slot(3, "/dev/null")
    path = {"no_reader": [], "empty": ["empty"], "checking": ["checking"], "ready": ["checking", "ready"],
            "refused": ["checking", "refused"], "busy": ["checking", "ready", "busy"],
            "done": ["checking", "ready", "busy", "done"], "failed": ["checking", "ready", "busy", "failed"]}
    for step in path[state]:
        if step == "ready":
            slot.card = Card("/dev/null", 2_000_000_000, "SERIAL1", "1")  # what the check found
        slot.move(step, message if step == state else "")
    return slot


@pytest.mark.parametrize("step", ["received", "downloading", "writing", "verifying", None])
def test_a_slot_working_on_a_card_is_busy(step):
    slot = slot_in("busy")
    slot.progress(step, 42.0, 38e6, task="t1", order="6b0f00d1e2")
    assert is_busy(slot.status_line()), slot.status_line()


@pytest.mark.parametrize("state, message", [
    ("no_reader", ""), ("empty", ""), ("checking", ""), ("ready", "card of 2.0 GB"),
    ("refused", "card refused: card too small for order 6b0f00d1: needs 4 GB"),
    ("done", "written for order 6b0f00d1"), ("failed", "write failed for order 6b0f00d1"),
])
def test_a_slot_not_writing_is_not_busy(state, message):
    line = slot_in(state, message).status_line()
    assert not is_busy(line), line


def test_a_stopped_unit_with_no_status_is_not_busy():
    assert not is_busy("")
