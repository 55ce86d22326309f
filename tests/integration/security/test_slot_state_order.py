"""A slot's state changes are written at once and in the order they were sent among its task's reports.

Heartbeats that only refresh a slot's progress wait in the monitor for a bulk write; one that changes
its state never waits: a card pulled out before `written` is reported makes that `written` refused.
"""

import time

from devstack.processes import wait_until
from tests.integration.security.test_writer_results import a_host_with_the_image, task_of
from tests.integration.security.writer_host import CARD, order_waiting_for_writers, write_tasks


def test_a_slot_state_change_is_visible_within_a_second_and_in_order_with_the_tasks_reports(pipeline, pipeline_db,
                                                                                            hostile):
    creator = hostile("creator")
    host, holds = a_host_with_the_image(hostile, slots=1)
    order = order_waiting_for_writers(pipeline, creator, quantity=2, before_done=holds)
    first, second = write_tasks(order)
    name = f"{host.name}.slot-1"

    def record():
        return pipeline_db.workers.find_one({"_id": name})

    # The first card: busy, its progress (refreshes only), written, then the slot is ready again.
    run = host.claim(first["_id"], card={"size": CARD, "serial": "0xF1"})
    for percent in range(0, 100, 5):
        host.slot(1, "busy", task=first["_id"], order=order["_id"], step="writing", percent=float(percent))
    host.write(first["_id"], host.result(order, serial="0xF1"), steps=("downloading", "writing", "verifying"),
               run=run)
    sent = time.monotonic()
    host.slot(1, "ready")
    wait_until(lambda: record()["slot"]["state"] == "ready", timeout=2, interval=0.02)
    print(f"figure: busy -> ready visible {time.monotonic() - sent:.2f} s after the heartbeat was sent")
    written = pipeline_db.tasks.find_one({"_id": first["_id"]})
    assert written["status"] == "written"
    assert record()["last_seen"] >= written["statuses"][-1]["at"]  # applied after the report sent before it

    # The second card is pulled out while verifying, then the slot reports it written: refused.
    run = host.claim(second["_id"], card={"size": CARD, "serial": "0xF2"})
    host.slot(1, "busy", task=second["_id"], order=order["_id"], step="verifying", percent=50.0)
    host.slot(1, "busy", task=second["_id"], order=order["_id"], step="verifying", percent=60.0)
    host.slot(1, "empty")
    host.write(second["_id"], host.result(order, serial="0xF2"), steps=("writing",), run=run)
    task = wait_until(lambda: (lambda found: found["status"] in ("written", "failed") and found)(
        task_of(pipeline, second["_id"])), timeout=30)
    assert task["status"] == "failed", task
    assert task["reason"] == "result refused: slot 1's heartbeats say it is empty"
