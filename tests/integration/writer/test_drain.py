"""cardshop-writer-helper drain and status --json on real slots (no systemd here: a slot is its process).

A drain asks the slot to take no new task; the slot says in its state file when
it is idle, and only then is it stopped, so no task starts between the check and
the stop.
"""

import json
import os
import subprocess
import sys

from cardshop.pipeline import slot_state
from devstack.processes import wait_until
from tests.integration.pipeline.test_monitor import order_of
from tests.integration.writer.conftest import (card_hash, physical_order, queued, slow_write, task_status,
                                               write_tasks, written)
from tests.unit.config.test_load import REPO
from tests.unit.writer.conftest import make_image

HELPER = os.path.join(REPO, "daemons", "cardshop-writer-helper")


def helper_command(host, *args):
    return [sys.executable, HELPER, "--config-dir", host.dir, "--run-dir", run_dir(host),
            "--systemd-dir", os.path.join(host.dir, "wants"), *args]


def helper(host, *args, timeout=120):
    return subprocess.run(helper_command(host, *args), capture_output=True, text=True, timeout=timeout, cwd=REPO)


def run_dir(host):
    return os.path.join(host.dir, "run")


def state(host, number=1):
    return slot_state.read(run_dir(host), number)


def status(host):
    done = helper(host, "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["slots"]


def test_a_drain_of_an_idle_slot_stops_it_at_once(pipeline, writer_host):
    host = writer_host(slots=1)
    slot = host.slots[0]
    host.insert(1)
    wait_until(lambda: (state(host) or {}).get("state") == "ready", timeout=30)
    [before] = status(host)
    assert before["running"] and before["state"]["state"] == "ready" and not before["state"]["draining"], before
    assert before["state"]["pid"] == slot.process.pid
    done = helper(host, "drain", "--slot", "1", "--json", "--no-systemctl", "--timeout", "20")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert (result["result"], result["changed"], result["state"]["drained"]) == ("stopped", True, True), result
    assert not slot.process.running()
    assert "slot 1: draining" in slot.log()
    [after] = status(host)
    assert (after["running"], after["state"]) == (False, None)


def test_a_drain_during_a_write_waits_for_the_card_then_stops_the_slot(pipeline, writer_host, image, slow_card):
    host = writer_host(slots=1)
    slot = host.slots[0]
    order, card = slow_write(pipeline, host, image, slow_card, "writing")
    drain = subprocess.Popen(helper_command(host, "drain", "--slot", "1", "--json", "--no-systemctl",
                                            "--timeout", "150"),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        seen = wait_until(lambda: (lambda now: now if now and now["draining"] else None)(state(host)), timeout=20)
        assert seen["state"] == "busy" and not seen["drained"] and seen["order"] == order["_id"], seen
        assert drain.poll() is None  # waiting for the card
        written(pipeline, order["_id"], timeout=120)
        out, err = drain.communicate(timeout=60)
    finally:
        if drain.poll() is None:
            drain.kill()
            drain.wait()
    assert drain.returncode == 0, err
    assert json.loads(out)["result"] == "stopped"
    assert not slot.process.running()
    # Written once, to its end: the drain cut nothing short and nothing went back to the queue.
    (task,) = write_tasks(pipeline, order["_id"])
    steps = [entry["status"] for entry in task["statuses"]]
    assert steps.count("writing") == 1 and "requeued" not in steps, steps
    assert card_hash(card.path, image["image_size"]) == image["sha256"]


def test_a_slot_that_drains_takes_no_new_task_until_stopped_or_resumed(pipeline, writer_host, image, slow_card,
                                                                       tmp_path):
    host = writer_host(slots=1)
    slot = host.slots[0]
    first, _ = slow_write(pipeline, host, image, slow_card, "writing")
    # A drain that gives up first: exit 75, the slot goes on with its card.
    done = helper(host, "drain", "--slot", "1", "--json", "--no-systemctl", "--timeout", "1")
    assert done.returncode == 75, done.stderr
    busy = json.loads(done.stdout)
    assert (busy["result"], busy["state"]["state"], busy["state"]["draining"]) == ("busy", "busy", True), busy
    assert "takes no new task" in done.stderr
    written(pipeline, first["_id"], timeout=120)
    assert slot.process.running()
    # A fresh card: a slot that did not drain would take the next task at once.
    host.remove(1)
    slot.wait_log("slot 1: empty")
    path = host.insert(1)
    wait_until(lambda: (lambda now: now and now["state"] == "ready" and now["drained"])(state(host)), timeout=30)
    # Another image: the host's cache knows an image by its bytes, and a result names the image cached first.
    other = make_image(str(tmp_path / "other"))
    second = physical_order(pipeline, other)
    # Published while the slot drains: it stays in the queue, which nobody consumes.
    assert wait_until(lambda: queued(pipeline, host.queue) == (1, 0))
    assert not wait_until_taken(pipeline, second, seconds=3)
    # Withdrawn: the slot takes it.
    done = helper(host, "resume", "--slot", "1")
    assert done.returncode == 0 and "takes tasks again" in done.stdout, done.stderr
    written(pipeline, second["_id"])
    assert card_hash(path, other["image_size"]) == other["sha256"]
    done = helper(host, "drain", "--slot", "1", "--json", "--no-systemctl", "--timeout", "20")
    assert done.returncode == 0 and json.loads(done.stdout)["result"] == "stopped", done.stderr
    assert not slot.process.running()


def wait_until_taken(pipeline, order, seconds):
    """The order's write task, once a slot received it within `seconds`; None when it stayed pending."""
    try:
        return task_status(pipeline, order["_id"], ("received", "downloading", "writing"), timeout=seconds)
    except AssertionError:
        assert order_of(pipeline, order["_id"])["status"] in ("pending_writer", "writing")
        return None
