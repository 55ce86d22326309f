"""check: the host's dependencies tried with its own writer.yaml and password, against the real scheduler,
RabbitMQ and warehouse of the pipeline stack (no reader needed)."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from devstack.processes import free_port
from devstack.servers import REPO
from devstack.writer_host import declare_queue

HELPER = os.path.join(REPO, "daemons", "cardshop-writer-helper")


@pytest.fixture(scope="module")
def writer_user(pipeline):
    username, password, _ = pipeline.worker("writer")
    return username, password


@pytest.fixture
def host(pipeline, writer_user, tmp_path):
    """A configured writer host in a folder: writer.yaml and the host's password file, as `configure` writes
    them; `host.write(**changes)` changes its sections, `host(...)` runs the helper there."""
    username, password = writer_user
    config_dir = tmp_path / "etc"
    (config_dir / "secrets").mkdir(parents=True)
    secret = config_dir / "secrets" / "writer.password"
    secret.write_text(password + "\n")
    secret.chmod(0o600)
    config = {"broker": {"url": pipeline.rabbitmq.url, "username": username, "password_file": str(secret)},
              "scheduler": {"api_url": pipeline.scheduler.url},
              "warehouse": {"url": pipeline.warehouse.url},
              "writer": {"slots_file": str(config_dir / "slots.yaml")}}

    def write(**changes):
        for section, values in changes.items():
            config[section].update(values)
        (config_dir / "writer.yaml").write_text(yaml.safe_dump(config))

    def run(*args):
        return subprocess.run([sys.executable, HELPER, "--config-dir", str(config_dir), *args], capture_output=True,
                              text=True, timeout=120, cwd=REPO, stdin=subprocess.DEVNULL)
    write()
    run.write, run.secret, run.username = write, secret, username
    return run


def results(result):
    document = json.loads(result.stdout)
    return document["ok"], {item["name"]: (item["ok"], item["reason"]) for item in document["checks"]}


def test_a_well_configured_host_passes_every_check(host, pipeline):
    result = host("check")
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["✔ scheduler", "✔ broker", "✔ warehouse"]
    assert f"logged in as {host.username} (role writer)" in lines[0]
    # No task was ever sent to this host: its queue is not there, and the broker lets the host read it.
    assert f"its queue write.{host.username} is not there yet" in lines[1]
    declare_queue(pipeline.rabbitmq.url, pipeline.system_password_file, host.username)
    json_result = host("check", "--json")
    assert json_result.returncode == 0, json_result.stdout + json_result.stderr
    ok, checks = results(json_result)
    assert ok and all(passed for passed, _ in checks.values())
    assert f"queue write.{host.username} holds 0 tasks, 0 slots consume it" in checks["broker"][1]


def test_a_wrong_password_fails_the_scheduler_and_the_broker_and_leaves_the_warehouse_untried(host):
    host.secret.write_text("not the password\n")
    result = host("check", "--json")
    assert result.returncode == 1, result.stderr
    ok, checks = results(result)
    assert not ok
    assert checks["scheduler"][0] is False and "refused the login" in checks["scheduler"][1]
    assert checks["broker"][0] is False and "refused the login" in checks["broker"][1]
    assert checks["warehouse"] == (False, "not tried: it takes a token of the scheduler, whose login failed")


def test_a_broker_that_does_not_answer_fails_only_the_broker(host, pipeline):
    host.write(broker={"url": f"amqp://127.0.0.1:{free_port()}/cardshop"})
    result = host("check")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("✔ scheduler") and lines[2].startswith("✔ warehouse")
    assert lines[1].startswith("✘ broker: cannot reach the broker:") and "refused" in lines[1].lower()


def test_a_warehouse_that_refuses_the_connection_fails_only_the_warehouse(host):
    result = host("check", "--json", "--warehouse", f"ftp://127.0.0.1:{free_port()}/")
    assert result.returncode == 1
    ok, checks = results(result)
    assert checks["scheduler"][0] and checks["broker"][0]
    assert checks["warehouse"][0] is False and "cannot log into the warehouse" in checks["warehouse"][1]


def test_a_host_without_writer_yaml_is_told_to_configure_it(tmp_path):
    result = subprocess.run([sys.executable, HELPER, "--config-dir", str(tmp_path), "check"], capture_output=True,
                            text=True, timeout=60, cwd=REPO)
    assert result.returncode == 1 and "run `cardshop-writer-helper configure` first" in result.stderr
