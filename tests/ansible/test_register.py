"""The writer role registers the host's slots with a real scheduler as the admin (tasks/register.yml), once.

ansible-playbook runs the role's register tasks on localhost against a writer
host in a folder, configured and identified by the project's
cardshop-writer-helper, which is also the one the role calls.
"""

import socket

import pytest

from tests.ansible.test_forget import play
from tests.integration.writer_helper.conftest import helper, readers  # noqa: F401 (the helper's fixtures)
from tests.integration.writer_helper.test_configure import BROKER, answers_file
from tests.integration.writer_helper.test_units import identify

pytestmark = pytest.mark.integration


def test_the_slots_are_registered_as_the_admin_once_then_nothing_changes(ansible_bin, helper, readers, tmp_path,
                                                                         scheduler, make_user, admin):
    writer = make_user("writer")
    configured = helper("configure", "--from", answers_file(tmp_path, scheduler=scheduler.url, broker=BROKER,
                                                            username=writer.username, password=writer.password))
    assert configured.returncode == 0, configured.stderr
    identify(helper, (1, readers[0]), (2, readers[1]))
    fleet = {"cardshop_common_admin_username": scheduler.admin["username"],
             "cardshop_common_admin_password": scheduler.admin["password"]}
    assert play(ansible_bin, helper, tmp_path, "register_tasks.yml", fleet)["changed"] == "1"
    path = f"/writer-hosts/{writer.username}@{socket.gethostname()}/slots"
    assert [slot["number"] for slot in admin.get(path).body["slots"]] == [1, 2]
    assert play(ansible_bin, helper, tmp_path, "register_tasks.yml", fleet)["changed"] == "0"
    assert helper("forget", "--slot", "2").returncode == 0  # unregisters it with the host's own login
    assert play(ansible_bin, helper, tmp_path, "register_tasks.yml", fleet)["changed"] == "0"
    assert [slot["number"] for slot in admin.get(path).body["slots"]] == [1]
