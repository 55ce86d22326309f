"""The writer role forgets a slot dropped from the inventory (roles/cardshop_writer/tasks/forget.yml).

ansible-playbook runs the role's forget tasks on localhost against a writer host
in a folder: slots identified on real loop devices by the project's
cardshop-writer-helper, which is also the one the role calls (its paths moved
into that folder). No systemd runs here, so the drain finds no enabled unit to
wait for; its busy test is tests/ansible/test_drain.py's, the real wait the fleet test's.
"""

import json
import os
import shlex
import subprocess

from cardshop.config.load import load_config
from cardshop.config.writer import SLOTS_SCHEMA
from tests.ansible.test_templates import ANSIBLE, REPO
from tests.integration.writer_helper.conftest import helper, readers  # noqa: F401 (the helper's fixtures)
from tests.integration.writer_helper.test_units import UNIT, identify, links


def play(ansible_bin, helper, tmp_path, playbook, variables):
    """tests/ansible/`playbook` on localhost with `variables`, the project's cardshop-writer-helper (its
    paths in `helper`'s folder) first on PATH; returns the localhost recap's counts."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / "cardshop-writer-helper"
    wrapper.write_text(f"#!/bin/sh\nPYTHONPATH={shlex.quote(REPO)} exec {shlex.join(helper.command())} \"$@\"\n")
    wrapper.chmod(0o755)
    variables = {"cardshop_common_config_dir": helper.config_dir,
                 "ansible_python_interpreter": os.path.join(ansible_bin, "python"), **variables}
    env = {**os.environ, "ANSIBLE_CONFIG": os.path.join(ANSIBLE, "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    done = subprocess.run([os.path.join(ansible_bin, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           os.path.join(REPO, "tests", "ansible", playbook), "-e", json.dumps(variables)],
                          cwd=ANSIBLE, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    recap = done.stdout.split("PLAY RECAP")[1].splitlines()[1]
    return dict(item.split("=") for item in recap.split(":", 1)[1].split())


def run(ansible_bin, helper, tmp_path, inventory_slots):
    """forget_tasks.yml with cardshop_writer_slots = `inventory_slots`; returns the localhost recap's counts."""
    return play(ansible_bin, helper, tmp_path, "forget_tasks.yml", {"cardshop_writer_slots": inventory_slots})


def numbers(helper):
    return [item["slot"] for item in load_config(SLOTS_SCHEMA, helper.slots)["slots"]]


def test_a_slot_dropped_from_the_inventory_is_forgotten_once(ansible_bin, helper, readers, tmp_path):
    identify(helper, (1, readers[0]), (2, readers[1]))
    assert helper("enable").returncode == 0
    inventory = [{"slot": 2, "device": readers[1]}]
    assert run(ansible_bin, helper, tmp_path, inventory)["changed"] == "1"
    assert numbers(helper) == [2]
    assert links(helper) == {"writer@2.service": UNIT} and not os.path.lexists(helper.link(1))
    assert run(ansible_bin, helper, tmp_path, inventory)["changed"] == "0"
    assert numbers(helper) == [2]


def test_an_inventory_listing_every_slot_forgets_none(ansible_bin, helper, readers, tmp_path):
    identify(helper, (1, readers[0]), (2, readers[1]))
    inventory = [{"slot": "2", "device": readers[1]}, {"slot": 1, "device": readers[0]}]  # as YAML may give them
    assert run(ansible_bin, helper, tmp_path, inventory)["changed"] == "0"
    assert numbers(helper) == [1, 2]


def test_identification_mode_forgets_no_slot(ansible_bin, helper, readers, tmp_path):
    identify(helper, (1, readers[0]), (2, readers[1]))
    assert run(ansible_bin, helper, tmp_path, [])["changed"] == "0"
    assert numbers(helper) == [1, 2]
