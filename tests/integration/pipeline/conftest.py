"""A whole pipeline stack: scheduler publishing tasks, RabbitMQ asking it, the monitor applying reports."""

import os

import pytest

from cardshop.cli.client import ApiClient
from cardshop.pipeline.celery_app import make_celery
from devstack.processes import free_port
from devstack.servers import ContentServer, Creator, Monitor, RabbitMQ, Scheduler, Warehouse
from tests.conftest import TEST_AUTH, unique


class Pipeline:
    def __init__(self, base, ferretdb):
        api_port = free_port()
        self.base = base
        self.rabbitmq = RabbitMQ(base, f"http://127.0.0.1:{api_port}", cache_ttl_ms=1000)
        self.scheduler = Scheduler(base, ferretdb.url, port=api_port, db_name="pipeline",
                                   overrides={"auth": TEST_AUTH}, broker_url=self.rabbitmq.url)
        self.system_password_file = os.path.join(self.scheduler.secrets, "system.password")
        self.monitor = None
        self.creator = None
        self.ferretdb = ferretdb
        self.warehouse = Warehouse(base, self.scheduler.url)
        self.content = ContentServer(base)

    def start(self):
        self.scheduler.start()
        self.rabbitmq.start()
        self.monitor = Monitor(self.base, self.ferretdb.url, "pipeline", self.rabbitmq.url,
                               self.system_password_file)
        self.monitor.start()
        self.warehouse.start()
        self.content.start()
        self.admin = ApiClient(self.scheduler.url, ApiClient(self.scheduler.url).post(
            "/auth/authorize", self.scheduler.admin).body["access_token"])
        self.admin.post("/warehouses", {"name": "main", "upload_url": self.warehouse.url,
                                        "download_url": self.warehouse.url})

    def start_creator(self, name="creator", concurrency=1):
        """A creator daemon with a creator user of its own."""
        username, _, _ = self.worker("creator")
        creator = Creator(self.base, self.scheduler.url, self.rabbitmq.url, username,
                          os.path.join(self.base, f"{username}.password"), name=name, concurrency=concurrency)
        creator.start()
        return creator

    def stop(self):
        for server in (self.creator, self.content, self.warehouse, self.monitor, self.rabbitmq, self.scheduler):
            if server is not None:
                server.stop()

    def worker(self, role):
        """A new worker user, and a Celery app logged into RabbitMQ with its credentials."""
        username = unique(role[:4])
        password = f"{username} password"
        reply = self.admin.post("/users", {"username": username, "email": f"{username}@example.org",
                                           "password": password, "role": role})
        assert reply.status == 201, reply
        path = os.path.join(self.base, f"{username}.password")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password)
        app = make_celery({"url": self.rabbitmq.url, "username": username, "password_file": path,
                           "heartbeat": 10}, f"test-{username}")
        return username, password, app


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, ferretdb):
    stack = Pipeline(str(tmp_path_factory.mktemp("pipeline")), ferretdb)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def pipeline_db(ferretdb):
    import pymongo
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    yield client["pipeline"]
    client.close()
