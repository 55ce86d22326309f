"""A slot's state file follows the slot, and the drain request stops it taking tasks (cardshop/writer/state_file.py)."""

import types

from cardshop.pipeline import slot_state
from cardshop.writer.state_file import StateFile
from cardshop.writer.worker import ConsumerGate
from devstack.processes import wait_until
from tests.unit.writer.conftest import slot_in


def published(tmp_path, state, message=""):
    slot = slot_in(state, message)
    gate = ConsumerGate(slot, "write.writ1")
    return slot, gate, StateFile(slot, gate, str(tmp_path))


def test_the_file_says_the_slots_state_card_and_task(tmp_path):
    slot, _, state_file = published(tmp_path, "busy")
    slot.progress("writing", 42.0, 38e6, task="a" * 24, order="b" * 24)
    state_file.write()
    state = slot_state.read(str(tmp_path), 3)
    assert {key: state[key] for key in ("slot", "state", "step", "task", "order", "card", "draining", "drained")} == {
        "slot": 3, "state": "busy", "step": "writing", "task": "a" * 24, "order": "b" * 24,
        "card": {"size": 2_000_000_000, "serial": "SERIAL1"}, "draining": False, "drained": False}



def test_the_file_has_the_steps_progress_as_a_tasks_progress_report_has_it(tmp_path):
    slot, _, state_file = published(tmp_path, "busy")
    slot.progress("verifying", 101.2, 38e6, done=2_024_000_000, total=2_000_000_000, eta=0.0)
    state_file.write()
    assert slot_state.read(str(tmp_path), 3)["progress"] == {"percent": 100.0, "bytes": 2_024_000_000,
                                                             "total": 2_000_000_000, "rate": 38e6, "eta": 0.0}
    slot.move("done")
    state_file.write()
    assert slot_state.read(str(tmp_path), 3)["progress"] is None

def test_a_draining_slot_takes_no_task_and_is_drained_at_once_when_idle(tmp_path):
    slot, gate, state_file = published(tmp_path, "ready")
    assert slot.takes_tasks()
    slot.drain()
    assert not slot.takes_tasks() and not slot.take() and slot.state == "ready"
    state_file.write()
    state = slot_state.read(str(tmp_path), 3)
    assert (state["state"], state["draining"], state["consuming"], state["drained"]) == ("ready", True, False, True)
    assert slot.status_line().endswith("(draining)")
    slot.drain(False)
    assert slot.takes_tasks() and not slot.status_line().endswith("(draining)")


def test_a_busy_slot_is_drained_only_once_its_card_is_done(tmp_path):
    slot, _, state_file = published(tmp_path, "busy")
    slot.listeners.append(state_file.changed)
    state_file.start()
    try:
        slot_state.request_drain(str(tmp_path), 3)
        wait_until(lambda: slot_state.read(str(tmp_path), 3)["draining"], timeout=5)
        assert not slot_state.read(str(tmp_path), 3)["drained"]
        slot.move("done", "remove the card")
        state = wait_until(lambda: (lambda now: now["state"] == "done" and now)(slot_state.read(str(tmp_path), 3)),
                           timeout=5)
        assert state["drained"]
    finally:
        state_file.stop()


def test_a_delivery_not_yet_settled_keeps_the_slot_from_being_drained(tmp_path):
    slot, gate, state_file = published(tmp_path, "ready")
    slot.drain()
    delivery = types.SimpleNamespace(acknowledged=False)  # Celery's Request, as far as the gate looks at it
    gate.received(delivery)
    assert not state_file.document()["drained"]
    delivery.acknowledged = True  # acknowledged, or handed back to the queue
    assert state_file.document()["drained"]


def test_the_slot_follows_the_drain_request_and_its_file_goes_when_it_stops(tmp_path):
    slot, _, state_file = published(tmp_path, "ready")
    state_file.start()
    try:
        assert slot_state.request_drain(str(tmp_path), 3) is True
        wait_until(lambda: slot.draining and slot_state.read(str(tmp_path), 3)["drained"], timeout=5)
        slot_state.withdraw_drain(str(tmp_path), 3)
        wait_until(lambda: not slot.draining and not slot_state.read(str(tmp_path), 3)["draining"], timeout=5)
    finally:
        state_file.stop()
    assert slot_state.read(str(tmp_path), 3) is None
