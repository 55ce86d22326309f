"""Every role of ansible/ documents each of its defaults in its README.md."""

import os

import pytest
import yaml

from tests.ansible.test_templates import ANSIBLE

ROLES = sorted(os.listdir(os.path.join(ANSIBLE, "roles")))


@pytest.mark.parametrize("role", ROLES)
def test_each_default_of_the_role_is_in_its_readme(role):
    folder = os.path.join(ANSIBLE, "roles", role)
    with open(os.path.join(folder, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle) or {}
    with open(os.path.join(folder, "README.md")) as handle:
        readme = handle.read()
    missing = [name for name in defaults if f"`{name}`" not in readme]
    assert not missing, f"{role}/README.md does not document {missing}"
    assert all(name.startswith(role + "_") for name in defaults)


def test_every_role_of_the_issue_exists():
    assert ROLES == ["cardshop_broker", "cardshop_common", "cardshop_creator", "cardshop_database",
                     "cardshop_front", "cardshop_manager", "cardshop_scheduler", "cardshop_warehouse", "cardshop_writer"]
