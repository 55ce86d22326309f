"""Writer slots end to end: real udev events from loop devices, RabbitMQ, the monitor and FTP.

Cards are loop devices (devstack/cards.py); slow and lying cards are FUSE
files under a loop device (tests/unit/writer/fakecard.py).
"""

import os
import time

import pytest

from devstack.processes import wait_until
from tests.integration.pipeline.test_monitor import order_of
from tests.integration.writer.conftest import (CARD, MiB, card_hash, physical_order, queued, slow_write, task_status,
                                               write_tasks, written, written_on_a_new_card)



def test_a_slot_without_a_card_takes_no_task_until_a_card_arrives(pipeline, writer_host, image):
    host = writer_host(slots=1)
    slot = host.slots[0]
    slot.wait_log("slot 1: empty")
    order = physical_order(pipeline, image)
    # The task waits in RabbitMQ, with nobody consuming it, while the slot has no card.
    assert wait_until(lambda: queued(pipeline, host.queue) == (1, 0))
    time.sleep(1.5)
    assert queued(pipeline, host.queue) == (1, 0)
    assert write_tasks(pipeline, order["_id"])[0]["status"] == "pending"

    path = host.insert(1)
    written(pipeline, order["_id"])
    assert card_hash(path, image["image_size"]) == image["sha256"]
    assert "slot 1: done" in slot.log()
    assert queued(pipeline, host.queue) == (0, 0)  # a done card takes nothing more


def test_two_slots_write_an_order_of_two_and_download_the_image_once(pipeline, writer_host, image):
    host = writer_host(slots=2)
    paths = [host.insert(1), host.insert(2)]
    for slot in host.slots:
        slot.wait_log("ready (card of")
    order = physical_order(pipeline, image, quantity=2)
    written(pipeline, order["_id"], count=2)
    for path in paths:
        assert card_hash(path, image["image_size"]) == image["sha256"]
    logs = "".join(slot.log() for slot in host.slots)
    assert logs.count("is in the cache") == 1  # one download, the other slot waited and shared it
    assert all(f"slot {slot.number}: done" in slot.log() for slot in host.slots)
    wait_until(lambda: order_of(pipeline, order["_id"])["status"] == "pending_shipment")


def test_written_says_which_host_slot_and_card_hold_the_image(pipeline, writer_host, image):
    host = writer_host(slots=1)
    host.insert(1)
    host.slots[0].wait_log("ready (card of")
    order = physical_order(pipeline, image)
    result = written(pipeline, order["_id"])[0]["result"]
    assert result["host"] == os.uname().nodename and result["slot"] == 1
    assert result["sha256"] == image["sha256"] and result["image_size"] == image["image_size"]
    assert result["mapped_bytes"] == result["verified_bytes"] == 5 * MiB
    assert result["card"] == {"size": CARD, "serial": None}


def test_a_too_small_card_hands_the_task_back_and_waits_for_a_new_card(pipeline, writer_host, image):
    host = writer_host(slots=1)
    host.insert(1, size=32 * MiB)
    host.slots[0].wait_log("ready (card of")
    order = physical_order(pipeline, image)
    host.slots[0].wait_log(f"slot 1: refused (card too small for order {order['_id']}: needs ≥ 0.1 GB")
    # Back in the queue, and this slot no longer consumes.
    assert wait_until(lambda: queued(pipeline, host.queue) == (1, 0))
    host.remove(1)
    host.slots[0].wait_log("slot 1: empty")
    written_on_a_new_card(pipeline, host, image, order)


def test_a_too_small_card_shows_the_task_requeued(pipeline, writer_host, image):
    host = writer_host(slots=1)
    host.insert(1, size=32 * MiB)
    host.slots[0].wait_log("ready (card of")
    order = physical_order(pipeline, image)
    task = task_status(pipeline, order["_id"], ("requeued",), timeout=30)
    assert "card too small" in task["statuses"][-1]["note"]
    # The slot's next heartbeat (sent on its change of state, at most one a second) shows why.
    slot = wait_until(lambda: (lambda body: body.get("slot", {}).get("state") == "refused" and body["slot"])(
        pipeline.admin.get(f"/workers/{host.username}@{os.uname().nodename}.slot-1").body), timeout=20)
    assert "card too small" in slot["message"]


def test_a_byte_flipped_on_the_card_between_write_and_verify_is_caught(pipeline, writer_host, image, slow_card):
    host = writer_host(slots=1)
    order, card = slow_write(pipeline, host, image, slow_card, "verifying")
    bad = 63 * MiB + 4321  # in the last mapped range, read back last
    with open(card.backing, "r+b") as handle:
        handle.seek(bad)
        byte = handle.read(1)
        handle.seek(bad)
        handle.write(bytes([byte[0] ^ 0xFF]))
    host.slots[0].wait_log(f"slot 1: verification mismatch at byte {bad}; the task goes back to the queue")
    assert "slot 1: failed (verification mismatch" in host.slots[0].log()
    assert wait_until(lambda: queued(pipeline, host.queue) == (1, 0))
    host.remove(1)
    host.slots[0].wait_log("slot 1: empty")
    written_on_a_new_card(pipeline, host, image, order)


def test_a_card_removed_mid_write_ends_that_attempt_only(pipeline, writer_host, image, slow_card):
    host = writer_host(slots=1)
    order, _ = slow_write(pipeline, host, image, slow_card, "writing")
    host.remove(1)
    host.slots[0].wait_log("slot 1: card removed mid-write; the task goes back to the queue")
    host.slots[0].wait_log("slot 1: empty")
    assert wait_until(lambda: queued(pipeline, host.queue) == (1, 0))
    written_on_a_new_card(pipeline, host, image, order)


@pytest.mark.fault  # kill -9: the fault tier
def test_a_slot_killed_mid_write_leaves_its_task_to_another_card(pipeline, writer_host, image, slow_card):
    host = writer_host(slots=2)
    order, _ = slow_write(pipeline, host, image, slow_card, "writing", rate=MiB)
    host.slots[0].process.kill9()
    written_on_a_new_card(pipeline, host, image, order, slot=2)
    assert "slot 2: done" in host.slots[1].log()


def test_a_card_that_lies_about_its_size_is_refused_by_the_slot(pipeline, writer_host, slow_card):
    host = writer_host(slots=1)
    liar = slow_card(size=64 * MiB, real=16 * MiB)  # the flash behind the controller: a quarter of what it says
    liar.insert(host.slots[0].device)
    host.slots[0].wait_log("slot 1: refused (card refused: card lies about its size")


def test_a_card_held_for_a_moment_after_insertion_is_checked_again_and_taken(writer_host):
    host = writer_host(slots=1)
    slot = host.slots[0]
    slot.wait_log("slot 1: empty")
    host.insert(1)
    held = wait_until(lambda: _exclusive(slot.device), timeout=2)  # before the slot's check, as udev's probes do
    try:
        time.sleep(2)
        assert "refused" not in slot.log(), "a card busy for a moment is not refused"
    finally:
        os.close(held)
    slot.wait_log("ready (card of")
    assert "refused" not in slot.log()


def _exclusive(device):
    try:
        return os.open(device, os.O_RDONLY | os.O_EXCL)
    except OSError:
        return None
