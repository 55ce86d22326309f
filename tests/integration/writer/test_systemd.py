"""A slot tells systemd how it is (STATUS), pings the watchdog from its worker loop, and honours cancels."""

import os

from devstack.processes import wait_until
from tests.integration.pipeline.test_monitor import order_of
from tests.integration.scheduler.test_daemon import NotifySocket
from tests.integration.writer.conftest import queued, slow_write


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
