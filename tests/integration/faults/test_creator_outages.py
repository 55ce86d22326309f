"""The creator waits for a warehouse or a content server that is away, and gives up only after its window."""

import time

import pytest

from devstack import samples
from devstack.processes import wait_until
from devstack.servers import ContentServer
from tests import outages
from tests.integration.faults.conftest import assert_no_order_stranded, schedule
from tests.integration.pipeline.test_creator import place
from tests.integration.pipeline.test_monitor import create_task_of, order_in, pipeline_task

RECIPE = {"output": {"size": "64M"}, "files": [{"to": "/data/hello.txt", "content": "hello"}]}

OUTAGE = outages.length("warehouse_content", 20, minimum=10)  # several retries fail meanwhile


def retry_logs(db, order_id, needle):
    """The task's log lines that contain `needle`."""
    task = db.tasks.find_one({"order": order_id, "kind": "create"}, sort=[("created_at", -1)])
    return [line["message"] for line in db.task_logs.find({"task": task["_id"]}) if needle in line["message"]]


@pytest.fixture
def creator(stack):
    """A creator with the default retry window (10 min)."""
    server = stack.start_creator(name="patient-creator", retry_window=600)
    yield server
    server.stop()


def test_a_warehouse_down_for_20_s_delays_the_order_which_then_becomes_ready(stack, db, creator):
    stack.warehouse.stop()
    try:
        order = place(stack, RECIPE)
        wait_until(lambda: retry_logs(db, order["_id"], "warehouse ftp://"), timeout=90)
        time.sleep(OUTAGE)  # the outage
        task = pipeline_task(stack, order["_id"])
        assert task["status"] == "uploading", "still trying, not failed"
        assert task["progress"]["step"].startswith("warehouse unreachable, retry ")
    finally:
        stack.warehouse.start()
    done = order_in(stack, order["_id"], ("ready", "creation_failed"), timeout=90)
    assert done["status"] == "ready", create_task_of(done).get("reason")
    line = retry_logs(db, order["_id"], "warehouse ftp://")[0]
    assert f"127.0.0.1:{stack.warehouse.port}" in line and "connection refused" in line
    assert_no_order_stranded(db)


def test_a_warehouse_down_longer_than_the_window_fails_the_order_naming_the_refusal_then_the_beat_retries(
        stack, db, beat):
    creator = stack.start_creator(name="hasty-creator", retry_window=8)
    stack.warehouse.stop()
    try:
        order = place(stack, RECIPE)
        failed = order_in(stack, order["_id"], ("ready", "creation_failed"), timeout=90)
    finally:
        stack.warehouse.start()
        creator.stop()
    assert failed["status"] == "creation_failed"
    reason = failed["statuses"][-1]["note"]
    assert reason.startswith(f"warehouse ftp://127.0.0.1:{stack.warehouse.port}/: connection refused (retried for ")
    assert "NoneType" not in reason and "internal error" not in reason
    first = create_task_of(failed)
    assert first["result"] == {"retryable": True}
    assert_no_order_stranded(db)
    # The beat tries a retryable failure again, as a new task.
    schedule(stack, "retry-failed", every=2, params={"max_attempts": 3, "older_than": 0})
    retry = wait_until(lambda: db.tasks.find_one({"retry_of": first["_id"]}), timeout=60)
    assert retry["attempt"] == 2
    history = db.orders.find_one({"_id": order["_id"]})["statuses"]
    assert [entry["by"] for entry in history if entry["event"] == "retry"] == ["beat"]
    schedule(stack, "retry-failed", every=300, params={"max_attempts": 3, "older_than": 60})
    assert_no_order_stranded(db)


def test_a_content_server_down_for_20_s_mid_download_resumes_and_completes(stack, db, creator):
    slow = ContentServer(stack.base, name="slow-content", rate=2 * 1024 * 1024)
    slow.start()
    try:
        big = samples.make_random_file(slow.root, "big.zim", 16 * 1024 * 1024)
        order = place(stack, {"output": {"size": "64M"}, "files": [
            {"to": "/data/big.zim", "url": f"{slow.url}/big.zim", "checksum": samples.checksum(big)}]})
        wait_until(lambda: (pipeline_task(stack, order["_id"]).get("progress") or {}).get("bytes", 0) > 2 ** 20,
                   timeout=60)
        slow.stop()
        try:
            wait_until(lambda: retry_logs(db, order["_id"], "content server unreachable"), timeout=60)
            time.sleep(OUTAGE)  # the outage
            assert pipeline_task(stack, order["_id"])["status"] == "downloading"
        finally:
            slow.start()
        done = order_in(stack, order["_id"], ("ready", "creation_failed"), timeout=120)
        assert done["status"] == "ready", create_task_of(done).get("reason")
    finally:
        slow.stop()
    assert_no_order_stranded(db)
