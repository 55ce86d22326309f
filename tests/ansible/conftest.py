"""Ansible from its own virtualenv (ansible/venv.sh), for the tests of ansible/."""

import os
import subprocess

import pytest

from tests.ansible.test_templates import ANSIBLE


@pytest.fixture(scope="session")
def ansible_bin():
    done = subprocess.run(["sh", os.path.join(ANSIBLE, "venv.sh")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
