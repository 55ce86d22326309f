"""The broker stopped for a while: the beat and the monitor wait, reconnect by themselves, and duplicate nothing."""

import time

from devstack.processes import wait_until
from tests import outages
from tests.integration.claiming import holder
from tests.integration.faults.conftest import assert_no_order_stranded, schedule
from tests.integration.pipeline.test_monitor import create_task_of, order_in, stored_result

OUTAGE = outages.length("broker", 30, minimum=20)  # past the 10 s AMQP heartbeat, twice


def test_a_broker_down_for_30_s_leaves_beat_and_monitor_running_and_they_reconnect(stack, db, beat):
    schedule(stack, "republish-pending", every=2, params={"older_than": 20})
    stack.rabbitmq.stop()
    try:
        order = stack.admin.post("/orders", {
            "recipe": {"output": {"size": "64M"}, "files": [{"to": "/data/x.txt", "content": "x"}]},
            "sd_card": {"size": 4, "type": "download"}, "quantity": 1,
            "recipient": {"name": "Ada", "email": "ada@example.org", "address": "1 Main St"}}).body
        task_id = create_task_of(order)["_id"]
        assert not create_task_of(order)["published_at"], "the broker is down: the task waits for the beat"
        time.sleep(OUTAGE)
        assert beat.process.running() and stack.monitor.process.running()
    finally:
        stack.rabbitmq.start()
    # The beat is back on the broker: it republishes the task, once.
    wait_until(lambda: db.tasks.find_one({"_id": task_id})["published_at"], timeout=120)
    username, _, app = stack.worker("creator")
    # The monitor is back too: the claim is answered, and reports drive the order to its end (with a
    # result the warehouse really holds: results are checked).
    reporter = holder(app, username, task_id)
    for status in ("downloading", "building", "uploading"):
        reporter.status(status)
    reporter.status("done", result=stored_result(stack, order, task_id))  # results are checked
    order_in(stack, order["_id"], ("ready",), timeout=60)
    assert db.tasks.count_documents({"order": order["_id"]}) == 1, "no duplicate task"
    assert db.tasks.find_one({"_id": task_id})["publications"] == 1
    assert_no_order_stranded(db)
