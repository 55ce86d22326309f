"""The `cardshop` admin CLI against the real scheduler."""

import json
import os
import stat
import subprocess
import sys

import pytest

from devstack.servers import REPO
from tests.conftest import order_body, unique


@pytest.fixture
def cli(tmp_path, scheduler):
    config_dir = str(tmp_path / "config")

    def run(*args, env=None, api=True):
        command = [sys.executable, os.path.join(REPO, "daemons", "cardshop"), "--config-dir", config_dir]
        if api:
            command += ["--api", scheduler.url]
        environment = {**os.environ, **(env or {})}
        return subprocess.run(command + list(args), capture_output=True, text=True, timeout=60,
                              env=environment, stdin=subprocess.DEVNULL)
    run.config_dir = config_dir
    return run


@pytest.fixture
def logged_in(cli, scheduler):
    result = cli("login", scheduler.admin["username"], env={"CARDSHOP_PASSWORD": scheduler.admin["password"]})
    assert result.returncode == 0, result.stderr
    return cli


def test_login_caches_the_tokens_privately(logged_in):
    path = os.path.join(logged_in.config_dir, "credentials.json")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with open(path) as handle:
        assert set(json.load(handle)) == {"api_url", "username", "access_token", "refresh_token"}


def test_a_wrong_password_exits_3(cli, scheduler):
    result = cli("login", scheduler.admin["username"], env={"CARDSHOP_PASSWORD": "wrong password"})
    assert result.returncode == 3 and "login failed" in result.stderr


def test_commands_without_login_exit_3(cli):
    result = cli("user", "list")
    assert result.returncode == 3 and "not logged in" in result.stderr


def test_an_unreachable_api_exits_4(cli):
    result = cli("--api", "http://127.0.0.1:1", "login", "x", env={"CARDSHOP_PASSWORD": "y"}, api=False)
    assert result.returncode == 4 and "cannot reach" in result.stderr


def test_user_lifecycle_through_the_cli(logged_in, tmp_path):
    name = unique("cli")
    password = tmp_path / "pw"
    password.write_text("cli user password\n")
    added = logged_in("user", "add", name, "--email", f"{name}@example.org", "--role", "writer",
                      "--password-file", str(password))
    assert added.returncode == 0 and f"created writer {name}" in added.stdout
    assert name in logged_in("user", "list", "--role", "writer").stdout
    shown = logged_in("--json", "user", "show", name)
    assert json.loads(shown.stdout)["role"] == "writer"
    assert logged_in("user", "disable", name).returncode == 0
    assert json.loads(logged_in("--json", "user", "show", name).stdout)["active"] is False
    assert logged_in("user", "enable", name).returncode == 0
    assert logged_in("user", "passwd", name, env={"CARDSHOP_NEW_PASSWORD": "another password"}).returncode == 0
    assert logged_in("user", "delete", name).returncode == 2  # no --yes, no terminal
    assert logged_in("user", "delete", name, "--yes").returncode == 0
    missing = logged_in("user", "show", name)
    assert missing.returncode == 1 and f"no user '{name}'" in missing.stderr


def test_duplicate_user_is_refused_with_the_apis_message(logged_in, scheduler):
    result = logged_in("user", "add", scheduler.admin["username"], "--email", "x@example.org", "--role", "writer",
                       env={"CARDSHOP_NEW_PASSWORD": "whatever password"})
    assert result.returncode == 1 and "taken" in result.stderr


def test_orders_listed_shown_and_canceled(logged_in, admin, warehouse):
    order = admin.post("/orders", order_body()).body
    assert order["_id"] in logged_in("order", "list", "--status", "created").stdout
    shown = logged_in("order", "show", order["_id"])
    assert shown.returncode == 0 and "created" in shown.stdout and "create" in shown.stdout
    canceled = logged_in("order", "cancel", order["_id"], "--reason", "test")
    assert canceled.returncode == 0 and "canceled" in canceled.stdout
    again = logged_in("order", "cancel", order["_id"])
    assert again.returncode == 1 and "does not allow" in again.stderr


def test_an_expired_access_token_is_refreshed_transparently(logged_in):
    path = os.path.join(logged_in.config_dir, "credentials.json")
    with open(path) as handle:
        state = json.load(handle)
    state["access_token"] = "expired.or.garbage"
    with open(path, "w") as handle:
        json.dump(state, handle)
    assert logged_in("user", "list").returncode == 0
    with open(path) as handle:
        assert json.load(handle)["refresh_token"] != state["refresh_token"]


def test_logout_ends_the_session(logged_in):
    assert logged_in("logout").returncode == 0
    assert logged_in("user", "list").returncode == 3
