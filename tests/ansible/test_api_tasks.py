"""The roles' API tasks (a worker's account, a warehouse's registration) against a real scheduler.

Each run is ansible-playbook on localhost; a second run with the same inventory
must report no change, and a changed password, role or URL exactly one fix.
"""

import json
import os
import secrets
import subprocess

import pytest

from cardshop.client import ApiClient
from tests.ansible.test_templates import ANSIBLE, REPO
from tests.conftest import unique

pytestmark = pytest.mark.integration


def run(ansible_bin, tmp_path, scheduler, **variables):
    """ansible-playbook api_tasks.yml with these variables; returns the localhost recap's counts."""
    variables = {"cardshop_common_scheduler_url": scheduler.url.rstrip("/"),
                 "cardshop_warehouse_scheduler_url": scheduler.url.rstrip("/"),
                 "cardshop_common_admin_username": scheduler.admin["username"],
                 "cardshop_common_admin_password": scheduler.admin["password"],
                 "ansible_python_interpreter": os.path.join(ansible_bin, "python"), **variables}
    path = tmp_path / f"vars-{secrets.token_hex(4)}.json"
    path.write_text(json.dumps(variables))
    path.chmod(0o600)
    env = {**os.environ, "ANSIBLE_CONFIG": os.path.join(ANSIBLE, "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    done = subprocess.run([os.path.join(ansible_bin, "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           os.path.join(REPO, "tests", "ansible", "api_tasks.yml"), "-e", f"@{path}"],
                          cwd=ANSIBLE, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    recap = done.stdout.split("PLAY RECAP")[1].splitlines()[1]
    return dict(item.split("=") for item in recap.split(":", 1)[1].split())


def account(username, password, role):
    return {"cardshop_common_account_username": username, "cardshop_common_account_password": password,
            "cardshop_common_account_role": role}


def role_of(scheduler, username, password):
    api = ApiClient(scheduler.url)
    reply = api.post("/auth/authorize", {"username": username, "password": password})
    if reply.status != 200:
        return None
    api.token = reply.body["access_token"]
    return api.post("/auth/validate").body["role"]


def test_a_worker_account_is_made_once_and_then_left_alone(ansible_bin, tmp_path, scheduler):
    username, password = unique("ans"), secrets.token_urlsafe(12)
    assert int(run(ansible_bin, tmp_path, scheduler, **account(username, password, "writer"))["changed"]) == 1
    assert role_of(scheduler, username, password) == "writer"
    assert run(ansible_bin, tmp_path, scheduler, **account(username, password, "writer"))["changed"] == "0"


def test_a_new_password_in_the_vault_resets_the_accounts(ansible_bin, tmp_path, scheduler):
    username, old, new = unique("ans"), secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    run(ansible_bin, tmp_path, scheduler, **account(username, old, "creator"))
    assert int(run(ansible_bin, tmp_path, scheduler, **account(username, new, "creator"))["changed"]) == 1
    assert role_of(scheduler, username, new) == "creator"
    assert role_of(scheduler, username, old) is None


def test_an_account_of_another_role_gets_the_inventorys_role(ansible_bin, tmp_path, scheduler):
    username = unique("ans")
    password, _ = scheduler.worker_user(username, "creator")
    assert int(run(ansible_bin, tmp_path, scheduler, **account(username, password, "writer"))["changed"]) == 1
    assert role_of(scheduler, username, password) == "writer"


def test_a_warehouse_is_registered_once_and_follows_its_url(ansible_bin, tmp_path, scheduler, admin):
    name = unique("wh")
    first = {"cardshop_warehouse_name": name, "cardshop_warehouse_default": False,
             "cardshop_warehouse_url": "ftps://192.0.2.11:2121"}
    assert int(run(ansible_bin, tmp_path, scheduler, **first)["changed"]) == 1
    assert run(ansible_bin, tmp_path, scheduler, **first)["changed"] == "0"
    moved = {**first, "cardshop_warehouse_url": "ftps://192.0.2.12:2121"}
    assert int(run(ansible_bin, tmp_path, scheduler, **moved)["changed"]) == 1
    body = admin.get(f"/warehouses/{name}").body
    assert (body["upload_url"], body["download_url"], body["default"]) == (
        "ftps://192.0.2.12:2121", "ftps://192.0.2.12:2121", False)
