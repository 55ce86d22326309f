"""A real slot's heartbeats, as the monitor files them: every step a busy slot goes through, a retry included."""

import socket

from devstack.processes import wait_until
from tests.integration.conftest import dropped
from tests.integration.writer.conftest import physical_order, task_status


def test_a_slots_heartbeats_through_a_retry_are_filed_never_dropped_as_malformed(pipeline, pipeline_db,
                                                                                  writer_host, image):
    host = writer_host(slots=1)
    host.insert(1)
    host.slots[0].wait_log("ready (card of")
    main = pipeline.admin.get("/warehouses/main").body
    # A write task carries its warehouse's download URL from when it is published: nothing listens there.
    assert pipeline.admin.patch("/warehouses/main", {"download_url": "ftp://127.0.0.1:9/"}).status == 200
    try:
        before = dropped(pipeline_db, "malformed")
        order = physical_order(pipeline, image)
    finally:
        assert pipeline.admin.patch("/warehouses/main", {"download_url": main["download_url"]}).status == 200
    slot_worker = f"{host.username}@{socket.gethostname()}.slot-1"
    waiting = wait_until(lambda: pipeline_db.workers.find_one({"_id": slot_worker, "slot.step": "waiting"}),
                         timeout=30)
    assert waiting["slot"]["state"] == "busy" and waiting["slot"]["order"] == order["_id"]
    assert "warehouse unreachable" in waiting["slot"]["message"], waiting["slot"]
    # The slot's retry window (5 s) runs out: the task fails (retryable), the card is ready again.
    task_status(pipeline, order["_id"], ("failed",))
    wait_until(lambda: (pipeline_db.workers.find_one({"_id": slot_worker}) or {}).get("slot", {}).get("state")
               == "ready")
    assert dropped(pipeline_db, "malformed") == before
