"""A slot's state follows its reader through real kernel uevents (loop devices as readers)."""

import pytest

from cardshop.monitor.service import first_error
from cardshop.writer.slot import Slot, SlotError
from devstack import cards
from tests.unit.writer.conftest import MiB


@pytest.fixture
def slot(readers):
    device, = readers()
    watched = Slot(1, device, {"DEVNAME": device})
    changes = []
    watched.listeners.append(lambda changed: changes.append(changed.state))
    watched.changes = changes
    watched.start()
    yield watched
    watched.stop()


def test_a_slot_checks_a_card_when_it_appears_and_forgets_it_when_it_goes(slot, tmp_path):
    assert slot.wait_for({"empty"}, 5)
    cards.insert(slot.device, str(tmp_path), 64 * MiB)
    assert slot.wait_for({"ready"}, 10), slot.state
    assert slot.message == "card of 0.1 GB" and slot.card.size == 64 * MiB
    assert slot.summary()["card"] == {"size": 64 * MiB, "serial": None}
    cards.remove(slot.device)
    assert slot.wait_for({"empty"}, 10), slot.state
    assert slot.changes[-3:] == ["checking", "ready", "empty"]


def test_a_written_card_stays_done_until_removed_and_the_next_card_is_checked_afresh(slot, tmp_path):
    cards.insert(slot.device, str(tmp_path), 64 * MiB)
    assert slot.wait_for({"ready"}, 10)
    assert slot.take()
    slot.move("done", "remove the card")
    slot.look()
    assert slot.state == "done" and not slot.take()  # the same card never takes a second task
    cards.remove(slot.device)
    cards.insert(slot.device, str(tmp_path), 64 * MiB)
    assert slot.wait_for({"ready"}, 10), slot.state
    assert slot.take()


def test_the_heartbeat_object_has_the_contract_fields(slot):
    assert slot.wait_for({"empty"}, 5)
    assert slot.summary() == {"number": 1, "state": "empty", "message": "", "card": None, "task": None,
                              "order": None, "step": None, "percent": None, "rate": None}
    assert slot.status_line() == "slot 1: empty, insert a card"


def test_a_transition_outside_the_table_is_refused(slot):
    assert slot.wait_for({"empty"}, 5)
    with pytest.raises(SlotError, match="empty -> done is not allowed"):
        slot.move("done")


def test_a_busy_slots_heartbeat_passes_the_schema_at_every_step_and_a_retry_is_its_message(slot, tmp_path):
    cards.insert(slot.device, str(tmp_path), 64 * MiB)
    assert slot.wait_for({"ready"}, 10) and slot.take()
    beat = {"type": "heartbeat", "worker": "writ1@host.slot-1", "online": True, "at": "2026-01-01T00:00:00Z"}
    slot.progress("received", task="a" * 24, order="b" * 24)
    assert first_error({**beat, "slot": slot.summary()}) is None
    slot.progress("warehouse unreachable, retry 1 in 1 s", 0.0, 0)  # what WriteJob's retry says
    waiting = slot.summary()
    assert first_error({**beat, "slot": waiting}) is None, first_error({**beat, "slot": waiting})
    assert (waiting["step"], waiting["message"]) == ("waiting", "warehouse unreachable, retry 1 in 1 s")
    assert slot.status_line().endswith("0%: warehouse unreachable, retry 1 in 1 s")
    for step in ("downloading", "writing", "verifying"):
        slot.progress(step, 50.0, 1e6)
        assert first_error({**beat, "slot": slot.summary()}) is None
        assert (slot.summary()["step"], slot.summary()["message"]) == (step, "")
