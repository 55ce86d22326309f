"""The scheduler daemon and systemd: READY once the database answers, watchdog, clean SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from devstack.servers import REPO, FerretDB, Scheduler
from tests.conftest import TEST_AUTH


class NotifySocket:
    """A datagram socket standing in for systemd's notification socket."""

    def __init__(self, directory):
        self.path = os.path.join(directory, "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, needle, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(needle in message for message in self.messages):
                return True
            self.sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        return any(needle in message for message in self.messages)

    def close(self):
        self.sock.close()


@pytest.fixture
def notify(tmp_path):
    sock = NotifySocket(str(tmp_path))
    yield sock
    sock.close()


def start_daemon(config_path, notify, watchdog_usec=None):
    env = {**os.environ, "NOTIFY_SOCKET": notify.path}
    if watchdog_usec:
        env["WATCHDOG_USEC"] = str(watchdog_usec)
    return subprocess.Popen([sys.executable, os.path.join(REPO, "daemons", "cardshop-scheduler"),
                             "--config", config_path], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_ready_waits_for_the_database_then_watchdog_and_clean_stop(tmp_path, notify):
    database = FerretDB(str(tmp_path))  # not started yet: its URL and the scheduler's password are known
    scheduler = Scheduler(str(tmp_path), database.user_url("cardshop_scheduler"), db_name="daemon_test",
                          overrides={"auth": TEST_AUTH, "database": {"timeout": 1}})
    scheduler.write_config()
    process = start_daemon(scheduler.config_path, notify, watchdog_usec=400_000)
    try:
        assert notify.wait_for("STATUS=waiting for the database", 15)
        assert not any("READY=1" in message for message in notify.messages)
        database.start()
        assert notify.wait_for("READY=1", 30), notify.messages
        assert notify.wait_for("WATCHDOG=1", 5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
        assert notify.wait_for("STOPPING=1", 1)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        database.stop()
    output = process.stdout.read()
    assert "received SIGTERM; stopping" in output and "Traceback" not in output


def test_the_watchdog_proves_the_loop_and_outlives_a_database_outage(tmp_path, notify):
    database = FerretDB(str(tmp_path))
    database.start()
    scheduler = Scheduler(str(tmp_path), database.url, db_name="watchdog_test",
                          overrides={"auth": TEST_AUTH, "database": {"timeout": 1}})
    scheduler.write_config()
    process = start_daemon(scheduler.config_path, notify, watchdog_usec=400_000)
    try:
        assert notify.wait_for("READY=1", 30), notify.messages
        database.kill9()
        assert notify.wait_for("the database does not answer", 15), notify.messages
        notify.messages.clear()
        assert notify.wait_for("WATCHDOG=1", 10), "the watchdog must not starve while the database is down"
        database.start()  # same data folder and port
        assert notify.wait_for(f"STATUS=serving the API on {scheduler.url}", 15), notify.messages
    finally:
        process.kill()
        process.wait()
        database.stop()


def test_create_admin_makes_the_first_admin(tmp_path, ferretdb, scheduler):
    server = Scheduler(str(tmp_path), ferretdb.url, db_name="create_admin_test", overrides={"auth": TEST_AUTH})
    server.write_config()
    password = tmp_path / "pw"
    password.write_text("first admin password\n")
    command = [sys.executable, os.path.join(REPO, "daemons", "cardshop-scheduler"), "--config",
               server.config_path, "create-admin", "root1", "--email", "root1@example.org",
               "--password-file", str(password)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    again = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "taken" in again.stderr
