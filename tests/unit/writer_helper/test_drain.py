"""drain, resume and status --json when no slot runs here (no systemd either): what the helper answers
machines. A real slot drained: tests/integration/writer/test_drain.py."""

import json
import os

import pytest

from cardshop.pipeline import slot_state
from cardshop.writer_helper.main import main
from tests.unit.pipeline.test_slot_state import STATE
from tests.unit.writer_helper.conftest import host_folders

pytestmark = pytest.mark.skipif(os.path.isdir("/run/systemd/system"), reason="a host without systemd")


@pytest.fixture
def host(tmp_path):
    """A writer host in a folder: slots 1 and 2 in slots.yaml, their state under run/."""
    arguments, run_dir = host_folders(tmp_path, (1, 2))

    def helper(*args):
        return main([*arguments, *args])
    helper.run_dir = run_dir
    helper.config = tmp_path / "etc"
    return helper


def test_draining_a_slot_that_does_not_run_stops_nothing_and_says_so_in_json(host, capsys):
    assert host("drain", "--slot", "1", "--json") == 0
    assert json.loads(capsys.readouterr().out) == {"slot": 1, "result": "not_running", "changed": False,
                                                   "state": None}


def test_a_restart_of_a_slot_that_does_not_run_without_systemd_restarts_nothing(host, capsys):
    assert host("drain", "--slot", "2", "--restart", "--json") == 0
    assert json.loads(capsys.readouterr().out)["result"] == "not_enabled"


def test_a_state_left_by_a_killed_slot_is_not_a_running_slot_and_its_drain_request_goes(host, capsys):
    # pid 1 is no cardshop-writer: the state is a leftover, the slot does not run.
    slot_state.write(host.run_dir, 2, {**STATE, "pid": 1})
    slot_state.request_drain(host.run_dir, 2)
    assert host("status", "--json") == 0
    slots = json.loads(capsys.readouterr().out)["slots"]
    assert [(item["slot"], item["running"], item["state"], item["unit"]) for item in slots] == [
        (1, False, None, None), (2, False, None, None)]
    assert host("drain", "--slot", "2", "--json") == 0
    assert json.loads(capsys.readouterr().out)["result"] == "not_running"
    assert not slot_state.drain_requested(host.run_dir, 2)


def test_status_json_says_each_slots_reader_card_and_unit(host, capsys):
    assert host("status", "--json") == 0
    first = json.loads(capsys.readouterr().out)["slots"][0]
    assert first == {"slot": 1, "device": "/dev/loop61", "reader": os.path.exists("/dev/loop61"),
                     "card_size": first["card_size"], "enabled": False, "unit": None, "running": False,
                     "state": None}


def test_draining_or_resuming_a_slot_slots_yaml_does_not_have_is_a_usage_error(host, capsys):
    assert host("drain", "--slot", "7") == 2
    assert host("resume", "--slot", "7") == 2
    assert "slot 7 is not in" in capsys.readouterr().err


def test_resume_withdraws_a_drain_request(host, capsys):
    os.makedirs(slot_state.folder(host.run_dir, 1))
    slot_state.request_drain(host.run_dir, 1)
    assert host("resume", "--slot", "1") == 0
    assert not slot_state.drain_requested(host.run_dir, 1)
    assert "takes tasks again" in capsys.readouterr().out


def test_an_unreadable_state_file_is_an_error_naming_it(host, capsys):
    os.makedirs(slot_state.folder(host.run_dir, 1))
    with open(slot_state.state_path(host.run_dir, 1), "w") as handle:
        handle.write("not json")
    assert host("status", "--json") == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "state.json is not JSON" in captured.err


def test_the_run_dir_comes_from_writer_yaml_when_not_given(host, tmp_path, capsys):
    (host.config / "writer.yaml").write_text(f"writer:\n  runtime_dir: {tmp_path / 'elsewhere'}\n")
    os.makedirs(slot_state.folder(str(tmp_path / "elsewhere"), 1))
    slot_state.request_drain(str(tmp_path / "elsewhere"), 1)
    assert main(["--config-dir", str(host.config), "resume", "--slot", "1"]) == 0
    assert not slot_state.drain_requested(str(tmp_path / "elsewhere"), 1)
