"""Heartbeats that only say "still here" are written in batches: a slot's burst costs about one write a second.

Each write of a worker record adds one to its `version` (store/workers.py): the database counts them.
"""

import time

from cardshop.pipeline.heartbeat import Heartbeat
from cardshop.store import new_id
from devstack.processes import wait_until
from tests.integration.conftest import register_slots


def busy_slot(percent, task, order):
    return {"slots": 1, "active": 1, "images": [], "software": "cardshop test", "slot": {
        "number": 1, "state": "busy", "message": "", "card": {"size": 4 * 10 ** 9, "serial": None},
        "task": task, "order": order, "step": "writing", "percent": percent, "rate": 2.5e7}}


def test_a_burst_of_progress_heartbeats_from_one_slot_costs_about_one_write_a_second(pipeline, pipeline_db):
    username, _, app = pipeline.worker("writer")
    register_slots(pipeline.admin, username, "rack", [1])
    name = f"{username}@rack.slot-1"
    state = busy_slot(0.0, new_id(), new_id())
    beat = Heartbeat(app, username, "rack.slot-1", lambda: state)
    beat.send()  # a worker never seen: written at once
    first = wait_until(lambda: pipeline_db.workers.find_one({"_id": name}), timeout=60)
    assert first["version"] == 1 and first["slot"]["state"] == "busy"

    sent, started = 0, time.monotonic()
    while time.monotonic() - started < 4:
        state["slot"]["percent"] = round(sent * 0.1, 1)  # only progress: nothing that matters changes
        beat.send()
        sent += 1
        time.sleep(0.02)
    last = state["slot"]["percent"]
    sent_for = time.monotonic() - started
    record = wait_until(lambda: (lambda doc: doc["slot"]["percent"] == last and doc)(
        pipeline_db.workers.find_one({"_id": name})), timeout=60, interval=0.05)
    landed = time.monotonic() - started - sent_for
    writes = record["version"] - first["version"]
    print(f"figure: {sent} heartbeats in {sent_for:.1f} s from one slot became {writes} writes of its record; "
          f"the last was written {landed:.2f} s after it was sent")
    assert sent >= 40
    assert 1 <= writes <= sent_for + 2  # at most one bulk write a second, and the last one
    assert record["last_seen"] > first["last_seen"]
