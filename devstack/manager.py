"""cardshop-manager for the local stack and the tests: config and session key written, started on loopback."""

import os
import secrets
import sys
import urllib.request

import yaml

from devstack.processes import Process, StackError, free_port, wait_for_port, wait_until
from devstack.servers import REPO, _write_secret


class Manager:
    def __init__(self, base, api_url, port=None, trusted_proxies=()):
        self.dir = os.path.join(base, "manager")
        self.port = port or free_port()
        self.api_url = api_url
        self.trusted_proxies = list(trusted_proxies)  # http.trusted_proxies: fronts whose X-Forwarded-For counts
        self.process = Process("manager", self.dir)
        self.config_path = os.path.join(self.dir, "manager.yaml")
        self.key_path = os.path.join(self.dir, "session.key")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        if not os.path.exists(self.key_path):
            _write_secret(self.key_path, secrets.token_urlsafe(48))
        config = {"http": {"listen": "127.0.0.1", "port": self.port, "trusted_proxies": self.trusted_proxies},
                  "scheduler": {"api_url": self.api_url},
                  "session": {"secret_file": self.key_path}}
        with open(self.config_path, "w") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)
        self.process.start([sys.executable, os.path.join(REPO, "daemons", "cardshop-manager"),
                            "--config", self.config_path], cwd=REPO)
        wait_for_port(self.port, 30, self.process.popen, "cardshop-manager", self.process.log_path)
        try:  # listening is not yet serving
            wait_until(self.serving, timeout=30, interval=0.2)
        except AssertionError:
            raise StackError("cardshop-manager does not answer /healthz") from None

    def serving(self):
        """/healthz answers 200."""
        try:
            with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def stop(self):
        return self.process.stop()
