"""upgrade.yml and the writer role's restarts wait for a slot that is writing: roles/cardshop_writer/tasks/drain.yml
calls `cardshop-writer-helper drain`, which reads the slot's state file (never its human status line) and stops
it once idle; the role asks again while the helper answers 75 (still writing). A real busy slot drained by the
helper: tests/integration/writer/test_drain.py; by this file under systemd: the fleet test's upgrade."""

import os

import yaml

from tests.ansible.test_forget import play
from tests.ansible.test_templates import ANSIBLE
from tests.integration.writer_helper.conftest import helper, readers  # noqa: F401 (the helper's fixtures)
from tests.integration.writer_helper.test_units import identify

ROLE_TASKS = os.path.join(ANSIBLE, "roles", "cardshop_writer", "tasks")
DRAIN = os.path.join(ROLE_TASKS, "drain.yml")


def drain_task():
    with open(DRAIN) as handle:
        return next(task for task in yaml.safe_load(handle) if "ansible.builtin.command" in task)


def test_drain_yml_asks_the_helper_and_asks_again_only_while_the_slot_writes():
    task = drain_task()
    command = " ".join(task["ansible.builtin.command"]["cmd"].split())
    assert "cardshop-writer-helper" in command and "drain --slot {{ item }}" in command
    assert "--timeout {{ cardshop_writer_drain_delay }} --json" in command
    assert task["until"] == "cardshop_writer_drained.rc != 75"
    assert "from_json" in task["changed_when"]


def test_no_task_of_the_writer_role_reads_a_slots_status_line():
    for name in os.listdir(ROLE_TASKS):
        with open(os.path.join(ROLE_TASKS, name)) as handle:
            text = handle.read()
        assert "StatusText" not in text and "grep" not in text, name


def test_draining_slots_that_do_not_run_changes_nothing(ansible_bin, helper, readers, tmp_path):  # noqa: F811
    identify(helper, (1, readers[0]), (2, readers[1]))
    recap = play(ansible_bin, helper, tmp_path, "drain_tasks.yml", {})
    assert recap["changed"] == "0" and recap["failed"] == "0", recap
