"""The creator and the beat ping systemd's watchdog from their Celery worker's own loop."""

import os
import signal
import subprocess
import sys
import time
import uuid

import yaml

from cardshop.pipeline.celery_app import make_celery
from devstack.processes import wait_until
from devstack.servers import REPO, Beat, Creator
from tests.integration.faults.test_watchdog_outage import PingClock
from tests.integration.pipeline.hung_worker import HANG_TASK
from tests.integration.scheduler.test_daemon import NotifySocket


def watched(daemon, tmp_path):
    """Run `daemon`'s program under a stand-in notify socket with a 0.4 s watchdog; the socket."""
    notify = NotifySocket(str(tmp_path))
    os.makedirs(daemon.dir, exist_ok=True)
    with open(daemon.config_path, "w") as handle:
        yaml.safe_dump(daemon.config, handle)
    env = {**os.environ, "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"}
    process = subprocess.Popen([sys.executable, os.path.join(REPO, "daemons", daemon.PROGRAM),
                                "--config", daemon.config_path], env=env, cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    return notify, process


def assert_pings(notify, process, ready=60, ping=10):
    """The daemon (started with start_new_session) says READY, then pings the watchdog within `ping` seconds;
    its whole process group is stopped either way."""
    try:
        assert notify.wait_for("READY=1", ready), notify.messages
        notify.messages.clear()
        assert notify.wait_for("WATCHDOG=1", ping)
    finally:
        # The whole group: the beat runs Celery's scheduler in a child of its own, which outlives a killed parent.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        notify.close()


def test_the_creator_pings_the_watchdog_from_its_worker_loop(pipeline, tmp_path):
    username, _, _ = pipeline.worker("creator")
    creator = Creator(str(tmp_path), pipeline.scheduler.url, pipeline.rabbitmq.url, username,
                      os.path.join(pipeline.scheduler.secrets, f"{username}.password"))
    assert_pings(*watched(creator, tmp_path))


def test_the_beat_pings_the_watchdog_from_its_worker_loop(pipeline, tmp_path):
    beat = Beat(str(tmp_path), pipeline.ferretdb.url, f"{pipeline.db_name}_watchdog", pipeline.rabbitmq.url,
                pipeline.system_password_file, pipeline.scheduler.url)
    assert_pings(*watched(beat, tmp_path))


def test_a_worker_whose_loop_hangs_stops_pinging_until_its_loop_turns_again(pipeline, tmp_path):
    """The pings prove the worker's own loop: a task run in that loop (solo pool) that blocks it
    silences them, whatever pings the broker's reconnects add."""
    usec = 1_000_000
    interval = usec / 2e6
    name = f"hang-{uuid.uuid4().hex[:8]}"
    clock = PingClock(str(tmp_path / "notify"))
    process = subprocess.Popen([sys.executable, "-m", "tests.integration.pipeline.hung_worker", pipeline.rabbitmq.url,
                                pipeline.system_password_file, name, str(tmp_path)], env=clock.env(usec), cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_until(lambda: "READY=1" in " ".join(clock.messages), timeout=60)
        wait_until(clock.pings, timeout=10)
        sender = make_celery({"url": pipeline.rabbitmq.url, "username": "cardshop-system", "heartbeat": 10,
                              "password_file": pipeline.system_password_file}, "test-hang-sender")
        sender.send_task(HANG_TASK, exchange=name, routing_key=name)
        wait_until(lambda: os.path.exists(tmp_path / "hung"), timeout=20)
        hung = time.monotonic()
        time.sleep(3 * usec / 1e6)  # the loop stays hung for three watchdog periods
        assert not clock.pings(hung + interval), "WATCHDOG=1 went on while the worker's loop was hung"
        open(tmp_path / "release", "w").close()
        released = time.monotonic()
        wait_until(lambda: len(clock.pings(released)) >= 2, timeout=10)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        clock.close()
