"""cardshop-writer's entry point: check-config like the others, --slot picks the slots file's entry."""

import os
import subprocess
import sys

import yaml

from tests.unit.config.test_load import REPO
from tests.unit.config.test_rules import secret


def writer(tmp_path, *args):
    slots = tmp_path / "slots.yaml"
    slots.write_text(yaml.safe_dump({"slots": [{"slot": 1, "match": {"DEVNAME": "/dev/loop0"},
                                                "device": "/dev/loop0"}]}))
    config = tmp_path / "writer.yaml"
    config.write_text(yaml.safe_dump({
        "broker": {"url": "amqp://127.0.0.1:9/cardshop", "username": "w1",
                   "password_file": secret(tmp_path, "password", "secret")},
        "writer": {"slots_file": str(slots), "cache_dir": str(tmp_path / "images")}}))
    return subprocess.run([sys.executable, os.path.join(REPO, "daemons", "cardshop-writer"), "--config",
                           str(config), *args], capture_output=True, text=True, timeout=60)


def test_check_config_accepts_a_writer_host_config(tmp_path):
    result = writer(tmp_path, "check-config")
    assert result.returncode == 0 and "valid" in result.stdout, result.stderr


def test_a_slot_the_slots_file_does_not_have_stops_with_a_config_error(tmp_path):
    result = writer(tmp_path, "--slot", "7")
    assert result.returncode == 78
    assert "has no slot 7" in result.stderr and "writer.slots_file" in result.stderr


def test_serving_needs_a_slot(tmp_path):
    result = writer(tmp_path)
    assert result.returncode == 78 and "--slot N is required" in result.stderr
