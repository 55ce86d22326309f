"""`make demo` fails at once, with the slot's reason, when a slot refuses a card it should have written
(it waited 5 minutes and said "the cards were not written in time")."""

import time

import pytest

from devstack import demo
from tests.integration.writer.conftest import MiB, physical_order


def test_the_demo_fails_at_once_with_the_slots_reason_when_a_slot_refuses_a_card(pipeline, writer_host, image):
    host = writer_host(slots=1)
    host.insert(1, size=32 * MiB)  # smaller than the image: the slot refuses it
    host.slots[0].wait_log("ready (card of")
    order = physical_order(pipeline, image)
    started = time.monotonic()
    with pytest.raises(SystemExit, match=r"^demo failed: .*card too small for order"):
        demo.follow_writes(pipeline.admin, order["_id"], {}, host.username, timeout=300)
    assert time.monotonic() - started < 60
