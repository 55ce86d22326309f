"""The warehouse pings systemd's watchdog from its FTP server's own loop."""

import os
import subprocess
import sys

import yaml

from devstack.processes import free_port
from devstack.servers import REPO
from tests.integration.pipeline.test_watchdog import assert_pings
from tests.integration.scheduler.test_daemon import NotifySocket


def test_the_warehouse_pings_the_watchdog_from_its_loop(tmp_path):
    notify = NotifySocket(str(tmp_path))
    config = tmp_path / "warehouse.yaml"
    config.write_text(yaml.safe_dump({
        "ftp": {"listen": "127.0.0.1", "port": free_port()},
        "storage": {"root": str(tmp_path / "root")},
        "scheduler": {"api_url": "http://127.0.0.1:9/"}}))
    os.makedirs(tmp_path / "root")
    env = {**os.environ, "NOTIFY_SOCKET": notify.path, "WATCHDOG_USEC": "400000"}
    process = subprocess.Popen([sys.executable, os.path.join(REPO, "daemons", "cardshop-warehouse"),
                                "--config", str(config)], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert_pings(notify, process, ready=30, ping=5)
