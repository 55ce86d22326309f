"""The creator and the beat ping systemd's watchdog from their Celery worker's own loop."""

import os
import signal
import subprocess
import sys

import yaml

from devstack.servers import REPO, Beat, Creator
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
