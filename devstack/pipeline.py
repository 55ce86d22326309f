"""A whole pipeline on one machine, for the tests and the benchmarks."""

import contextlib
import itertools
import os
import time

import amqp.exceptions

from cardshop.client import ApiClient
from cardshop.pipeline.celery_app import make_celery
from devstack.processes import StackError, free_port
from devstack.servers import Beat, ContentServer, Creator, Monitor, RabbitMQ, Scheduler, Warehouse, log_in

_counter = itertools.count()


class Pipeline:
    """Scheduler (publishing), RabbitMQ (asking it), monitor, warehouse and a content server."""

    # Tests start content servers of their own (slow, hostile) on loopback ports: creators may
    # fetch from any of them. `make up` allows only its content server's port.
    FETCH_ALLOW = ({"network": "127.0.0.1"},)

    def __init__(self, base, ferretdb, auth=None, db_name="pipeline"):
        api_port = free_port()
        self.base = base
        self.rabbitmq = RabbitMQ(base, f"http://127.0.0.1:{api_port}", cache_ttl_ms=1000)
        self.db_name = db_name
        self.scheduler = Scheduler(base, ferretdb.user_url("cardshop_scheduler"), port=api_port, db_name=db_name,
                                   overrides={"auth": auth or {}}, broker_url=self.rabbitmq.url)
        self.system_password_file = os.path.join(self.scheduler.secrets, "system.password")
        self.monitor = None
        self.ferretdb = ferretdb
        self.warehouse = Warehouse(base, self.scheduler.url)
        self.content = ContentServer(base)

    def start(self):
        self.scheduler.start()
        self.rabbitmq.start()
        self.monitor = Monitor(self.base, self.ferretdb.user_url("cardshop_monitor"), self.db_name, self.rabbitmq.url,
                               self.system_password_file, self.scheduler.url)
        self.monitor.start()
        self.warehouse.start()
        self.content.start()
        self.admin = ApiClient(self.scheduler.url, log_in(self.scheduler.url, self.scheduler.admin)["access_token"])
        self.admin.post("/warehouses", {"name": "main", "upload_url": self.warehouse.url,
                                        "download_url": self.warehouse.url})

    @contextlib.contextmanager
    def running(self):
        """Started for the `with` block, stopped after it whatever happens."""
        try:
            self.start()
            yield self
        finally:
            self.stop()

    def start_beat(self):
        beat = Beat(self.base, self.ferretdb.user_url("cardshop_beat"), self.db_name, self.rabbitmq.url, self.system_password_file,
                    self.scheduler.url)
        beat.start()
        return beat

    def start_creator(self, name="creator", concurrency=1, **settings):
        """A creator daemon with a creator user of its own; `settings` go into its `creator` section.

        Tests place orders whose URLs nobody serves (port 9), and a creator
        may take the message of a task that ended meanwhile: a 5 s retry
        window (not the 10 min default) keeps such tasks short.
        """
        settings.setdefault("retry_window", 5)
        username, _, _ = self.worker("creator")
        creator = Creator(self.base, self.scheduler.url, self.rabbitmq.url, username,
                          os.path.join(self.scheduler.secrets, f"{username}.password"), name=name,
                          concurrency=concurrency, fetch_allow=self.FETCH_ALLOW)
        creator.config["creator"].update(settings)
        creator.start()
        return creator

    def stop(self):
        for server in (self.content, self.warehouse, self.monitor, self.rabbitmq, self.scheduler):
            if server is not None:
                server.stop()

    def worker(self, role):
        """A new worker user, and a Celery app logged into RabbitMQ with its credentials."""
        username = f"{role[:4]}{next(_counter)}x{os.getpid() % 1000}"
        password, path = self.scheduler.worker_user(username, role, password=f"{username} password")
        app = make_celery({"url": self.rabbitmq.url, "username": username, "password_file": path,
                           "heartbeat": 10}, f"test-{username}")
        self.wait_for_account(app, username)
        return username, password, app

    @staticmethod
    def wait_for_account(app, username, timeout=30):
        """Until the monitor has declared the account's exchange (it looks for new accounts every few seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                with app.connection_for_write() as connection:
                    connection.default_channel.exchange_declare(f"from.{username}", "direct", passive=True)
                return
            except amqp.exceptions.NotFound:
                if time.monotonic() > deadline:
                    raise StackError(f"the monitor declared no exchange for {username} in {timeout} s") from None
                time.sleep(0.2)
