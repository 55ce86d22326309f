"""A slot's state file and drain request, as the helper reads and makes them (cardshop/pipeline/slot_state.py)."""

import json
import os

import pytest

from cardshop.pipeline import slot_state

STATE = {"format": 1, "slot": 2, "pid": 4242, "state": "busy", "since": "2026-12-07T20:00:00+00:00",
         "message": "", "card": {"size": 2_000_000_000, "serial": None}, "task": "a" * 24, "order": "b" * 24,
         "step": "writing", "draining": True, "consuming": False, "drained": False}


def put(run_dir, text, number=2):
    os.makedirs(slot_state.folder(run_dir, number), exist_ok=True)
    with open(slot_state.state_path(run_dir, number), "w") as handle:
        handle.write(text)


def test_what_the_slot_writes_the_helper_reads_back(tmp_path):
    slot_state.write(str(tmp_path), 2, STATE)
    assert slot_state.read(str(tmp_path), 2) == STATE
    assert os.listdir(slot_state.folder(str(tmp_path), 2)) == ["state.json"]  # no temporary left
    slot_state.remove(str(tmp_path), 2)
    assert slot_state.read(str(tmp_path), 2) is None


def test_a_slot_that_published_nothing_has_no_state(tmp_path):
    assert slot_state.read(str(tmp_path), 1) is None


def test_fields_a_later_version_adds_are_ignored(tmp_path):
    put(str(tmp_path), json.dumps({**STATE, "percent": 42.0}))
    assert slot_state.read(str(tmp_path), 2)["state"] == "busy"


@pytest.mark.parametrize("text, error", [
    ("{", "is not JSON"),
    (json.dumps({**STATE, "state": "asleep"}), "holds no slot state: field 'state': expected one of"),
    (json.dumps({key: value for key, value in STATE.items() if key != "drained"}),
     "holds no slot state: missing field 'drained'"),
    (json.dumps({**STATE, "format": 2}), "holds no slot state"),
    (json.dumps({**STATE, "slot": 3}), "is the state of slot 3, not of slot 2"),
    (" " * (slot_state.MAX_BYTES + 1), "larger than a slot's state"),
])
def test_a_file_that_is_no_slot_state_is_an_error_naming_it(tmp_path, text, error):
    put(str(tmp_path), text)
    with pytest.raises(slot_state.SlotStateError, match="state.json") as raised:
        slot_state.read(str(tmp_path), 2)
    assert error in str(raised.value)


def test_a_link_in_place_of_the_state_file_is_not_followed(tmp_path):
    os.makedirs(slot_state.folder(str(tmp_path), 2))
    secret = tmp_path / "secret"
    secret.write_text(json.dumps(STATE))
    os.symlink(secret, slot_state.state_path(str(tmp_path), 2))
    with pytest.raises(slot_state.SlotStateError, match="cannot read"):
        slot_state.read(str(tmp_path), 2)


def test_a_drain_is_asked_once_withdrawn_once_and_never_for_a_slot_that_does_not_run(tmp_path):
    run_dir = str(tmp_path)
    assert slot_state.request_drain(run_dir, 2) is None  # no folder: the slot does not run
    assert not os.path.exists(slot_state.folder(run_dir, 2))
    os.makedirs(slot_state.folder(run_dir, 2))
    assert not slot_state.drain_requested(run_dir, 2)
    assert slot_state.request_drain(run_dir, 2) is True
    assert slot_state.request_drain(run_dir, 2) is False
    assert slot_state.drain_requested(run_dir, 2)
    assert slot_state.withdraw_drain(run_dir, 2) is True
    assert slot_state.withdraw_drain(run_dir, 2) is False
    assert not slot_state.drain_requested(run_dir, 2)


def test_a_drain_request_never_writes_through_a_link_the_slot_put_there(tmp_path):
    os.makedirs(slot_state.folder(str(tmp_path), 2))
    target = tmp_path / "target"
    target.write_text("keep")
    os.symlink(target, slot_state.drain_path(str(tmp_path), 2))
    assert slot_state.request_drain(str(tmp_path), 2) is False  # there already: asked, and nothing written
    assert target.read_text() == "keep"
