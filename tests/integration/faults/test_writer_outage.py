"""A writer slot still follows its card after the broker restarted: it consumes its host's queue once a
fresh card is in (the consumer's restart on connection loss clears the timer that drives this)."""

from devstack import cards
from devstack.processes import wait_until
from devstack.writer_host import declare_queue
from tests.integration.faults.test_watchdog_outage import CONNECTED, log_of
from tests.integration.writer.conftest import WriterHost, queued


def test_a_slot_consumes_once_a_card_is_in_after_the_broker_restarted(stack, tmp_path):
    host = WriterHost(stack, str(tmp_path), cards.take_readers(1))
    declare_queue(stack.rabbitmq.url, stack.system_password_file, host.username)
    try:
        host.start()
        slot = host.slots[0]
        slot.wait_log("slot 1: empty")
        stack.rabbitmq.restart()
        wait_until(lambda: log_of(slot).count(CONNECTED) >= 2, timeout=60)
        assert queued(stack, host.queue) == (0, 0)  # no card: nobody consumes
        host.insert(1)
        slot.wait_log("ready (card of")
        wait_until(lambda: queued(stack, host.queue) == (0, 1), timeout=30)
        slot.wait_log(f"slot 1: consuming {host.queue}")
    finally:
        host.stop()
