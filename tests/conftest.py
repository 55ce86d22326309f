"""Shared fixtures: real FerretDB, scheduler and RabbitMQ, started once per test run."""

import itertools
import os

import pymongo
import pytest

from cardshop.client import ApiClient
from devstack import cards
from devstack.servers import FerretDB, RabbitMQ, Scheduler

# Cheap hashes and a quick lockout keep the suite fast; production uses the defaults.
TEST_AUTH = {"bcrypt_rounds": 4, "max_failures": 3, "lockout": 2, "max_lockout": 4,
             "login_rate": 1000, "login_burst": 1000}  # the suite logs in from one address, fast
_counter = itertools.count()


def pytest_configure(config):
    """Under pytest-xdist (`make test` runs two workers), each worker takes its own share of the card readers."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    if worker and count > 1:
        index = int(worker.removeprefix("gw"))
        os.environ[cards.ENV] = ",".join(cards.reader_pool()[index::count])


def pytest_collection_modifyitems(config, items):
    """Each test's tier from its folder: tests/unit needs no server; tests/integration/faults are the fault
    tier, as is any test marked `fault` elsewhere; everything else is integration."""
    for item in items:
        parts = item.path.relative_to(config.rootpath).parts
        if parts[:2] == ("tests", "unit"):
            item.add_marker(pytest.mark.unit)
        elif parts[:3] == ("tests", "integration", "faults"):
            item.add_marker(pytest.mark.fault)
        elif item.get_closest_marker("fault") is None:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def stack_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("stack"))


@pytest.fixture(scope="session")
def ferretdb(stack_dir):
    server = FerretDB(stack_dir)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def scheduler(stack_dir, ferretdb):
    server = Scheduler(stack_dir, ferretdb.user_url("cardshop_scheduler"), db_name="tests", overrides={"auth": TEST_AUTH})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def rabbitmq(stack_dir, scheduler):
    server = RabbitMQ(stack_dir, scheduler.url, cache_ttl_ms=1000)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def db(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    yield client["tests"]
    client.close()


@pytest.fixture
def api(scheduler):
    return ApiClient(scheduler.url)


@pytest.fixture(scope="session")
def admin_token(scheduler):
    reply = ApiClient(scheduler.url).post("/auth/authorize", scheduler.admin)
    assert reply.status == 200, reply
    return reply.body["access_token"]


@pytest.fixture
def admin(scheduler, admin_token):
    return ApiClient(scheduler.url, admin_token)


def unique(prefix):
    return f"{prefix}{os.getpid() % 1000}x{next(_counter)}"


class NewUser:
    def __init__(self, username, password, role, pair):
        self.username, self.password, self.role = username, password, role
        self.access, self.refresh = pair["access_token"], pair["refresh_token"]


@pytest.fixture
def make_user(scheduler, admin):
    """Create a user of a role and log it in; returns a NewUser."""
    def make(role="manager", password="correct horse battery"):
        username = unique(role[:4])
        reply = admin.post("/users", {"username": username, "email": f"{username}@example.org",
                                      "password": password, "role": role})
        assert reply.status == 201, reply
        login = ApiClient(scheduler.url).post("/auth/authorize", {"username": username, "password": password})
        assert login.status == 200, login
        return NewUser(username, password, role, login.body)
    return make


@pytest.fixture(scope="session")
def warehouse(scheduler, admin_token):
    client = ApiClient(scheduler.url, admin_token)
    reply = client.post("/warehouses", {"name": "main", "upload_url": "ftp://127.0.0.1:2121/",
                                        "download_url": "ftp://127.0.0.1:2121/", "default": True})
    assert reply.status in (201, 409), reply
    return "main"


def order_body(**changes):
    body = {
        "recipe": {"output": {"size": "1G"},
                   "files": [{"to": "/data/hello.txt", "content": "hello"},
                             {"to": "/data/zims/wiki.zim", "url": "http://127.0.0.1:9/wiki.zim",  # nothing listens there: never fetched
                              "checksum": {"algo": "sha256", "value": "a" * 64}}]},
        "sd_card": {"size": 4, "type": "physical"},
        "quantity": 2,
        "recipient": {"name": "Ada", "email": "ada@example.org", "address": "1 Main St"},
    }
    body.update(changes)
    return body
