"""The database goes away and comes back: clear 503s meanwhile, no crash, nothing lost; a database that
answers too slowly gets 504 (slow), not 503 (away)."""

import os
import signal
import time

import pytest

from cardshop.client import ApiClient
from devstack.servers import FerretDB, Scheduler
from tests.conftest import TEST_AUTH, order_body

pytestmark = pytest.mark.fault


@pytest.fixture
def own_stack(tmp_path):
    database = FerretDB(str(tmp_path))
    database.start()
    scheduler = Scheduler(str(tmp_path), database.url, db_name="outage",
                          overrides={"auth": TEST_AUTH, "database": {"timeout": 2}})
    scheduler.start()
    yield database, scheduler
    scheduler.stop()
    database.stop()


def test_the_api_answers_503_while_the_database_is_down_and_recovers(own_stack):
    database, scheduler = own_stack
    api = ApiClient(scheduler.url)
    api.token = api.post("/auth/authorize", scheduler.admin).body["access_token"]
    api.post("/warehouses", {"name": "main", "upload_url": "ftp://127.0.0.1/", "download_url": "ftp://127.0.0.1/"})
    order = api.post("/orders", order_body()).body

    database.kill9()  # the harshest way to lose it
    down = api.get(f"/orders/{order['_id']}")
    assert down.status == 503 and "database" in down.body["error"]
    assert down.headers["Retry-After"] == "5"
    assert api.get("/health").status == 503
    assert scheduler.process.running(), "the scheduler must survive the outage"

    database.start()  # same data folder and port
    back = api.get(f"/orders/{order['_id']}")
    assert back.status == 200 and back.body["status"] == "created"
    assert [task["kind"] for task in back.body["tasks"]] == ["create"]
    assert api.get("/health").status == 200


def test_a_database_too_slow_for_a_call_gets_504_saying_slow_not_503(own_stack, tmp_path):
    database, _ = own_stack
    scheduler = Scheduler(str(tmp_path / "strict"), database.url, db_name="outage_strict",
                          overrides={"auth": TEST_AUTH, "database": {"timeout": 2, "call_timeout": 1}})
    scheduler.start()
    try:
        api = ApiClient(scheduler.url)
        login = api.post("/auth/authorize", scheduler.admin)
        assert login.status == 200, login
        api.token = login.body["access_token"]
        api.post("/warehouses", {"name": "main", "upload_url": "ftp://127.0.0.1/", "download_url": "ftp://127.0.0.1/"})
        order = api.post("/orders", order_body()).body
        os.kill(database.process.pid, signal.SIGSTOP)  # alive, connections open, answering nothing
        try:
            started = time.monotonic()
            slow = api.get(f"/orders/{order['_id']}")
            took = time.monotonic() - started
        finally:
            os.kill(database.process.pid, signal.SIGCONT)
        assert slow.status == 504 and "slow, not down" in slow.body["error"], slow
        assert slow.headers["Retry-After"] == "5" and took < 10, took
        assert scheduler.process.running()
        assert api.get(f"/orders/{order['_id']}").status == 200
    finally:
        scheduler.stop()
