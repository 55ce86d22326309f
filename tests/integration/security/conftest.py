"""A second scheduler with strict settings, for attacks the shared one is too lenient for."""

import pytest

from cardshop.cli.client import ApiClient
from devstack.servers import Scheduler

BROKER_ADDRESS = "127.0.0.9"
STRICT = {
    # one address gets 6 password checks at once, then 1 a second; failures are forgotten after 2 s
    "auth": {"bcrypt_rounds": 4, "max_failures": 3, "lockout": 30, "max_lockout": 60,
             "failure_window": 2, "login_rate": 1, "login_burst": 6},
    "rabbitmq": {"broker_addresses": [BROKER_ADDRESS]},
}


@pytest.fixture(scope="session")
def strict_scheduler(tmp_path_factory, ferretdb):
    server = Scheduler(str(tmp_path_factory.mktemp("strict")), ferretdb.url, db_name="strict", overrides=STRICT)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def strict_db(strict_scheduler, db):
    return db.client["strict"]


@pytest.fixture(scope="session")  # one login: the strict scheduler allows few per address
def strict_admin(strict_scheduler):
    reply = ApiClient(strict_scheduler.url).post("/auth/authorize", strict_scheduler.admin)
    assert reply.status == 200, reply
    return ApiClient(strict_scheduler.url, reply.body["access_token"])
