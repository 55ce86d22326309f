"""register (and enable --login, forget): the host's slots registered with a real scheduler, as an operator."""

import json
import socket

import pytest

from tests.integration.writer_helper.test_configure import BROKER, answers_file
from tests.integration.writer_helper.test_units import identify

HOST = socket.gethostname()  # the name the host's writer@N processes give it


@pytest.fixture
def host(helper, readers, scheduler, make_user, tmp_path):
    """A configured writer host with two identified slots; its writer user."""
    writer = make_user("writer")
    done = helper("configure", "--from", answers_file(tmp_path, scheduler=scheduler.url, broker=BROKER,
                                                      username=writer.username, password=writer.password))
    assert done.returncode == 0, done.stderr
    identify(helper, (1, readers[0]), (2, readers[1]))
    return writer


@pytest.fixture
def operator(make_user):
    return make_user("manager")


def registered(admin, writer):
    reply = admin.get(f"/writer-hosts/{writer.username}@{HOST}/slots")
    assert reply.status == 200, reply
    return {slot["number"]: slot["reader"] for slot in reply.body["slots"]}


def test_an_operator_registers_the_slots_of_slots_yaml_under_this_host_and_its_writer(helper, host, operator, admin,
                                                                                      readers):
    result = helper("register", "--login", operator.username, "--password-stdin", stdin=operator.password + "\n")
    assert result.returncode == 0, result.stderr
    assert f"registered slots 1, 2 of {host.username}@{HOST} with the scheduler" in result.stdout
    assert operator.password not in result.stdout + result.stderr
    assert registered(admin, host) == {  # the readers' identities, as identify wrote them in slots.yaml
        number: {"match": {"DEVNAME": device}, "device": f"/dev/cardshop/slot-{number}", "label": "loop device"}
        for number, device in ((1, readers[0]), (2, readers[1]))}
    again = helper("register", "--login", operator.username, "--password-stdin", "--json",
                   stdin=operator.password + "\n")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"writer": host.username, "host": HOST, "slots": [1, 2], "unregistered": [],
                                        "changed": False}


def test_the_writer_login_itself_cannot_register_slots(helper, host, admin):
    result = helper("register", "--login", host.username, "--password-stdin", stdin=host.password + "\n")
    assert result.returncode == 3, result.stderr
    assert f"{host.username} is a writer on the scheduler: registering slots takes the login of a manager or " \
           "an admin" in result.stderr
    assert registered(admin, host) == {}


def test_forget_unregisters_the_slot_with_the_hosts_own_login(helper, host, operator, admin):
    assert helper("register", "--login", operator.username, "--password-stdin",
                  stdin=operator.password + "\n").returncode == 0
    result = helper("forget", "--slot", "1")
    assert result.returncode == 0, result.stderr
    assert f"unregistered slot 1 of {host.username}@{HOST}" in result.stdout
    assert list(registered(admin, host)) == [2]


def test_enable_with_a_login_registers_too_and_without_one_says_how(helper, host, operator, admin, tmp_path):
    without = helper("enable")
    assert without.returncode == 0 and "register --login NAME" in without.stdout
    assert registered(admin, host) == {}
    secret = tmp_path / "operator.password"
    secret.write_text(operator.password + "\n")
    secret.chmod(0o600)
    result = helper("enable", "--login", operator.username, "--password-file", str(secret))
    assert result.returncode == 0, result.stderr
    assert list(registered(admin, host)) == [1, 2]


@pytest.mark.parametrize("args, stdin, code, message", [
    (("register",), None, 2, "--login NAME is needed: the login of a manager or an admin"),
    (("register", "--login", "ada"), None, 2, "no terminal to ask the password of ada: use --password-file"),
    (("register", "--login", "ada", "--password-file", "/nonexistent"), None, 2,
     "cannot read --password-file /nonexistent"),
    (("register", "--login", "nobody-at-all", "--password-stdin"), "wrong\n", 3, "refused the login of nobody-at-all"),
])
def test_bad_register_requests_get_a_clear_message_and_exit_code(helper, host, args, stdin, code, message):
    result = helper(*args, stdin=stdin)
    assert result.returncode == code and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr


def test_register_without_writer_yaml_or_scheduler_says_what_is_missing(helper, readers, tmp_path):
    identify(helper, (1, readers[0]))
    result = helper("register", "--login", "ada", "--password-stdin", stdin="pw\n")
    assert result.returncode == 1 and "run `cardshop-writer-helper configure` first" in result.stderr
    with open(helper.writer, "w") as handle:  # a host whose scheduler is not there
        handle.write(f"broker: {{url: '{BROKER}', username: writer-x, password_file: /dev/null}}\n"
                     "scheduler: {api_url: 'http://127.0.0.1:1'}\n")
    result = helper("register", "--login", "ada", "--password-stdin", stdin="pw\n")
    assert result.returncode == 4 and "cannot reach the API" in result.stderr, result.stderr
