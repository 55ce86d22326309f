"""A monitor that is frozen (or behind) delays a build and never fails it.

On the old code the warehouse let a creator write only once the monitor had
applied its `received`: a monitor frozen for 25 s turned the upload into
`550 Not enough privileges` and the order into `creation_failed` for good.
Now the claim makes the task the creator's before any work, and a claim
that nobody answers is asked again until the monitor is back.
"""

import os
import signal
import time

import pytest

from devstack import samples
from devstack.processes import wait_until
from devstack.servers import ContentServer
from tests import outages
from tests.integration.faults.conftest import assert_no_order_stranded
from tests.integration.pipeline.test_creator import place
from tests.integration.pipeline.test_monitor import create_task_of, order_in

RECIPE = {"output": {"size": "64M"}, "files": [{"to": "/data/hello.txt", "content": "hello"}]}
FROZEN = outages.length("monitor_frozen", 30, minimum=26)  # the old code failed the order after 25


@pytest.fixture
def creator(stack):
    server = stack.start_creator(name="claims-creator", retry_window=600)
    yield server
    server.stop()


class Frozen:
    """The stack's monitor stopped with SIGSTOP (alive, holding its connections, answering nothing)."""

    def __init__(self, stack):
        self.pid = stack.monitor.process.popen.pid

    def __enter__(self):
        os.kill(self.pid, signal.SIGSTOP)
        return self

    def __exit__(self, *exc):
        os.kill(self.pid, signal.SIGCONT)


def test_a_monitor_frozen_during_a_build_delays_the_order_which_then_becomes_ready(stack, db, creator):
    slow = ContentServer(stack.base, name="frozen-content", rate=2 * 1024 * 1024)
    slow.start()
    try:
        zim = samples.make_random_file(slow.root, "four.zim", 4 * 1024 * 1024)  # 2 s to fetch
        order = place(stack, {"output": {"size": "64M"}, "files": [
            {"to": "/data/four.zim", "url": f"{slow.url}/four.zim", "checksum": samples.checksum(zim)}]})
        task = wait_until(lambda: db.tasks.find_one({"order": order["_id"], "kind": "create",
                                                     "status": {"$ne": "pending"}}))
        uploaded = os.path.join(stack.warehouse.root, task["_id"], f"{order['_id']}.sha256")
        with Frozen(stack):
            # The creator fetches, builds and uploads while the monitor is frozen: its claim made the task its own.
            assert not os.path.exists(uploaded)
            frozen_at = time.monotonic()
            wait_until(lambda: os.path.exists(uploaded), timeout=FROZEN)
            time.sleep(max(0, FROZEN - (time.monotonic() - frozen_at)))
    finally:
        slow.stop()
    done = order_in(stack, order["_id"], ("ready", "creation_failed"), timeout=90)
    assert done["status"] == "ready", create_task_of(done).get("reason")
    # No FTP refusal ("550 Not enough privileges") in the task's history nor its log (the digits alone
    # may be part of a time stamp).
    task = create_task_of(done)
    said = [entry.get("note") or "" for entry in task.get("statuses", [])] + [task.get("reason") or ""]
    said += [line["message"] for line in db.task_logs.find({"task": task["_id"]})]
    assert not [line for line in said if "550 " in line], said
    assert_no_order_stranded(db)


def test_a_claim_waits_for_a_frozen_monitor_and_the_build_goes_on_once_it_answers(stack, db, creator):
    with Frozen(stack):
        order = place(stack, RECIPE)
        time.sleep(FROZEN)
        task = db.tasks.find_one({"order": order["_id"], "kind": "create"})
        assert task["status"] == "pending", "nothing is done before the claim is accepted"
        assert not os.path.exists(os.path.join(stack.warehouse.root, task["_id"]))
    done = order_in(stack, order["_id"], ("ready", "creation_failed"), timeout=90)
    assert done["status"] == "ready", create_task_of(done).get("reason")
    assert "no answer to the claim yet" in creator_log(creator)


def creator_log(creator):
    with open(creator.process.log_path, errors="replace") as handle:
        return handle.read()
