"""The warehouse while the scheduler is away: "try later", not "refused"; and back by itself.

A scheduler of its own (own database), stopped for real and started again
on the same port; the warehouse daemon is never restarted.
"""

import ftplib
import io
import time

import pymongo
import pytest

from cardshop.client import ApiClient
from cardshop.store import new_id
from devstack.processes import wait_until
from devstack.servers import Scheduler, Warehouse
from tests.conftest import TEST_AUTH
from tests.integration.warehouse.test_warehouse import login

pytestmark = pytest.mark.fault

WINDOW = 10  # the warehouse's identity cache, in seconds


@pytest.fixture
def scheduler_alone(tmp_path, ferretdb):
    server = Scheduler(str(tmp_path), ferretdb.url, db_name="warehouse_outage", overrides={"auth": TEST_AUTH})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def outage_warehouse(tmp_path, scheduler_alone):
    server = Warehouse(str(tmp_path), scheduler_alone.url)
    server.config["scheduler"]["cache_seconds"] = WINDOW
    server.start()
    yield server
    server.stop()


def worker_token(scheduler, role):
    username = f"{role[:4]}{new_id()[-8:]}"
    password, _ = scheduler.worker_user(username, role)
    reply = ApiClient(scheduler.url).post("/auth/authorize", {"username": username, "password": password})
    return username, reply.body["access_token"]


def stor(ftp, path):
    try:
        return ftp.storbinary(f"STOR {path}", io.BytesIO(b"x" * 1000))
    except ftplib.Error as exc:
        return str(exc)


def test_logins_get_421_while_the_scheduler_is_away_and_validated_sessions_keep_their_window(
        scheduler_alone, outage_warehouse, ferretdb):
    creator, creator_token = worker_token(scheduler_alone, "creator")
    writer, writer_token = worker_token(scheduler_alone, "writer")
    task_id = new_id()
    with pymongo.MongoClient(ferretdb.url) as client:
        client["warehouse_outage"].tasks.insert_one({"_id": task_id, "order": new_id(), "kind": "create",
                                                     "status": "uploading", "worker": creator, "statuses": []})
    session = login(outage_warehouse, creator, creator_token)
    validated = time.monotonic()
    session.mkd(task_id)

    scheduler_alone.stop()
    with pytest.raises(ftplib.error_temp, match=r"^421 .*scheduler .*does not answer"):
        login(outage_warehouse, writer, writer_token)  # a worker retries a 421; a 530 would be final
    assert time.monotonic() - validated < WINDOW, "stopping the scheduler took longer than the window"
    assert stor(session, f"{task_id}/during.bin").startswith("226"), "a validated session keeps working"

    # Once its cached answer is older than the window, a write asks again: "try later" too.
    refused = wait_until(lambda: (lambda reply: reply.startswith("421") and reply)(
        stor(session, f"{task_id}/late.bin")), timeout=WINDOW + 10, interval=0.5)
    assert "scheduler" in refused

    scheduler_alone.start()  # same port, same database: the warehouse recovers without a restart
    back = wait_until(lambda: _try_login(outage_warehouse, creator, creator_token), timeout=20, interval=0.5)
    assert stor(back, f"{task_id}/after.bin").startswith("226")
    back.quit()
    login(outage_warehouse, writer, writer_token).quit()


def _try_login(server, username, token):
    try:
        return login(server, username, token)
    except ftplib.error_temp:
        return None
