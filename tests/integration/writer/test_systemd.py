"""A slot tells systemd how it is (STATUS), pings the watchdog from its worker loop, honours cancels,
and fails a task only when its image cannot be obtained."""

import os

from cardshop.validation import short_id
from devstack.processes import wait_until
from tests.integration.pipeline.test_monitor import order_of
from tests.integration.scheduler.test_daemon import NotifySocket
from tests.integration.writer.conftest import physical_order, queued, slow_write


def test_a_slot_says_its_state_to_systemd_and_pings_the_watchdog(writer_host, tmp_path):
    notify = NotifySocket(str(tmp_path))
    try:
        host = writer_host(slots=1, env={**os.environ, "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"})
        assert notify.wait_for("READY=1", 30), notify.messages
        assert notify.wait_for("STATUS=slot 1: empty, insert a card", 10), notify.messages
        assert notify.wait_for("WATCHDOG=1", 10)
        host.insert(1)
        assert notify.wait_for("STATUS=slot 1: ready (card of 0.1 GB)", 20), notify.messages
    finally:
        notify.close()


def test_a_canceled_task_stops_mid_write_and_leaves_the_card_failed(pipeline, writer_host, image, slow_card):
    host = writer_host(slots=1)
    order, _ = slow_write(pipeline, host, image, slow_card, "writing")
    assert pipeline.admin.post(f"/orders/{order['_id']}/cancel", {"reason": "customer changed their mind"}).ok
    host.slots[0].wait_log("slot 1: failed (task ")
    assert "canceled mid-write" in host.slots[0].log()
    assert wait_until(lambda: queued(pipeline, host.queue) == (0, 0))  # acknowledged, not requeued
    assert order_of(pipeline, order["_id"])["status"] == "canceled"


def test_an_image_that_cannot_be_obtained_fails_the_task_and_the_card_stays_ready(pipeline, writer_host, image):
    host = writer_host(slots=1)
    host.insert(1)
    host.slots[0].wait_log("ready (card of")
    host.slots[0].process.stop()  # hold the task back while the image goes missing
    order = physical_order(pipeline, image)
    folder = order["image"]["folder"]
    os.unlink(os.path.join(pipeline.warehouse.root, folder, f"{order['_id']}.img.zst"))
    host.slots[0].start()
    failed = wait_until(lambda: order_of(pipeline, order["_id"])["status"] == "write_failed"
                        and order_of(pipeline, order["_id"]), timeout=60)
    assert "no /" in failed["statuses"][-1]["note"] and "in the warehouse" in failed["statuses"][-1]["note"]
    host.slots[0].wait_log("slot 1: consuming")  # the fresh card waits for the next task
    assert "slot 1: ready (card of" in host.slots[0].log().rsplit("slot 1: busy", 1)[1]


def test_a_busy_slot_shows_its_order_and_step_in_its_status(pipeline, writer_host, image, slow_card, tmp_path):
    # The busy line has a "…": sdnotify's Latin-1 encoding once dropped every such STATUS silently.
    notify = NotifySocket(str(tmp_path))
    try:
        host = writer_host(slots=1, env={**os.environ, "NOTIFY_SOCKET": notify.path})
        assert notify.wait_for("READY=1", 30), notify.messages
        order, _ = slow_write(pipeline, host, image, slow_card, "writing")
        assert notify.wait_for(f"STATUS=slot 1: writing order {short_id(order['_id'])}", 20), notify.messages[-5:]
    finally:
        notify.close()
