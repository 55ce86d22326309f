"""configure --from FILE: checked by logging into a real scheduler before anything is written."""

import os
import pty
import select
import signal
import stat
import time

import pytest
import yaml

from cardshop.config.load import load_config
from cardshop.config.rules import check
from cardshop.config.writer import SCHEMA

BROKER = "amqp://127.0.0.1:5672/cardshop"


def answers_file(tmp_path, **answers):
    path = tmp_path / "answers.yaml"
    path.write_text(yaml.safe_dump(answers))
    return str(path)


def test_configure_from_a_file_writes_a_valid_writer_yaml_and_a_0600_password(helper, scheduler, make_user,
                                                                                tmp_path):
    user = make_user("writer")
    path = answers_file(tmp_path, scheduler=scheduler.url, broker=BROKER, username=user.username,
                        password=user.password)
    result = helper("configure", "--from", path)
    assert result.returncode == 0, result.stderr
    assert user.password not in result.stdout + result.stderr
    config = check(load_config(SCHEMA, helper.writer))
    assert config["broker"]["username"] == user.username and config["scheduler"]["api_url"] == scheduler.url
    assert config["writer"]["slots_file"] == helper.slots
    secret = config["broker"]["password_file"]
    assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    with open(secret) as handle:
        assert handle.read().strip() == user.password
    with open(helper.writer) as handle:
        assert user.password not in handle.read()


def test_the_login_check_goes_through_the_configured_proxy(helper, scheduler, make_user, tmp_path):
    user = make_user("writer")
    path = answers_file(tmp_path, scheduler=scheduler.url, broker=BROKER, username=user.username,
                        password=user.password, http_proxy="http://127.0.0.1:9")  # nothing listens there
    result = helper("configure", "--from", path)
    assert result.returncode == 4 and "cannot reach the API" in result.stderr, result.stderr
    assert not os.path.exists(helper.writer)


def test_wrong_credentials_are_refused_with_3_and_nothing_is_written(helper, scheduler, make_user, tmp_path):
    user = make_user("writer")
    path = answers_file(tmp_path, scheduler=scheduler.url, broker=BROKER, username=user.username,
                        password="not the password")
    result = helper("configure", "--from", path)
    assert result.returncode == 3, result.stderr
    assert f"refused the login of {user.username}" in result.stderr and "Traceback" not in result.stderr
    assert not os.path.exists(helper.writer) and not os.path.exists(os.path.join(helper.config_dir, "secrets"))


def test_a_user_that_is_not_a_writer_is_refused(helper, scheduler, make_user, tmp_path):
    user = make_user("creator")
    path = answers_file(tmp_path, scheduler=scheduler.url, broker=BROKER, username=user.username,
                        password=user.password)
    result = helper("configure", "--from", path)
    assert result.returncode == 3
    assert f"{user.username} is a creator on the scheduler, not a writer" in result.stderr
    assert not os.path.exists(helper.writer)


def test_an_unreachable_scheduler_exits_4(helper, tmp_path):
    path = answers_file(tmp_path, scheduler="http://127.0.0.1:1", broker=BROKER, username="writer-x", password="p")
    result = helper("configure", "--from", path)
    assert result.returncode == 4 and "cannot reach the API at http://127.0.0.1:1" in result.stderr


@pytest.mark.parametrize("content, message", [
    ("scheduler: http://127.0.0.1:1\nbroker: amqps://b:5671/cardshop\nusername: w1\npassword: p\nport: 3\n",
     "unknown key 'port'"),
    ("scheduler: http://127.0.0.1:1\nbroker: amqp://10.0.0.5:5672/cardshop\nusername: w1\npassword: p\n",
     "plain amqp:// is only allowed on loopback"),
    ("scheduler: http://127.0.0.1:1\nbroker: amqps://b:5671/cardshop\npassword: p\n", "missing key 'username'"),
    ("- a list\n", "must hold a mapping"),
    ("scheduler: [unclosed\n", "is not valid YAML"),
])
def test_bad_answer_files_exit_2_naming_what_is_wrong(helper, tmp_path, content, message):
    path = tmp_path / "answers.yaml"
    path.write_text(content)
    result = helper("configure", "--from", str(path))
    assert (result.returncode, message in result.stderr) == (2, True), result.stderr


def test_configure_without_a_terminal_or_file_says_how(helper):
    result = helper("configure")
    assert result.returncode == 2 and "use --from FILE" in result.stderr


def test_configure_at_a_terminal_asks_each_question_and_never_echoes_the_password(helper, scheduler, make_user):
    user = make_user("writer")
    answers = [scheduler.url, BROKER, user.username, "", "", "", "ftps://127.0.0.1:2121/", user.password]
    pid, terminal = pty.fork()
    if pid == 0:  # the child: the helper, on the terminal
        os.execv(helper.command()[0], helper.command("configure"))
    output = b""
    try:
        for prompt, answer in zip([b"scheduler API URL", b"broker URL", b"writer username", b"HTTP proxy",
                                   b"CA bundle for the scheduler", b"CA bundle for an FTPS warehouse",
                                   b"the warehouse `check` logs into", b"its password (not shown)"], answers):
            output = read_until(terminal, output, prompt)
            os.write(terminal, answer.encode() + b"\n")
        output = read_until(terminal, output, b"wrote ")
    except BaseException:
        os.kill(pid, signal.SIGKILL)  # a question the test did not expect waits for ever
        raise
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(terminal)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert user.password.encode() not in output
    written = load_config(SCHEMA, helper.writer)
    assert written["broker"]["username"] == user.username
    assert written["warehouse"]["url"] == "ftps://127.0.0.1:2121/"


def read_until(terminal, output, needle, timeout=30):
    deadline = time.monotonic() + timeout
    while needle not in output:
        ready, _, _ = select.select([terminal], [], [], max(0, deadline - time.monotonic()))
        assert ready, f"no {needle!r} within {timeout} s: {output!r}"
        try:
            output += os.read(terminal, 4096)
        except OSError:  # the child closed the terminal
            break
    assert needle in output, output
    return output
