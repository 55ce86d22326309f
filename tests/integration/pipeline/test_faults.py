"""Nothing is lost when the monitor, the database or the broker goes away mid-pipeline."""

import os
import time

import amqp
import pytest

from cardshop.pipeline import topology
from cardshop.pipeline.celery_app import make_celery
from cardshop.pipeline.publish import Publisher
from cardshop.store import now, tasks
from devstack.processes import wait_until
from tests import outages
from tests.conftest import order_body
from tests.integration.claiming import holder
from tests.integration.pipeline.test_monitor import create_task_of, order_in, order_of, pipeline_task, stored_result

pytestmark = pytest.mark.fault

MONITOR_DOWN = outages.length("monitor", 30, minimum=10)  # reports pile up in RabbitMQ meanwhile

REPORTS = 200


def send_a_whole_build(reporter, result, reports=REPORTS):
    reporter.status("downloading")
    for tick in range(reports):
        reporter.progress("downloading", tick + 1, reports, 1e6, reports - tick)
        if tick % 50 == 0:
            reporter.log(f"tick {tick}")
    reporter.status("building")
    reporter.status("uploading")
    reporter.status("done", result=result)


def download_order(pipeline):
    return pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "download"}, quantity=1)).body


def assert_complete(pipeline, pipeline_db, order, reporter):
    final = order_in(pipeline, order["_id"], ("ready",), timeout=60)
    task = create_task_of(final)
    assert task["last_seq"] == reporter.last_seq, "every report was applied"
    assert task["progress"]["bytes"] == REPORTS
    assert pipeline_db.task_logs.count_documents({"task": task["_id"]}) == REPORTS // 50


def waiting_reports(pipeline, username):
    """How many messages the account's reports queue holds, asked as the system user."""
    with open(pipeline.system_password_file) as handle:
        password = handle.read().strip()
    connection = amqp.Connection(f"127.0.0.1:{pipeline.rabbitmq.port}", userid=pipeline.scheduler.system["username"],
                                 password=password, virtual_host="cardshop", connect_timeout=10)
    connection.connect()
    try:
        return connection.channel().queue_declare(topology.account_queues(username)[0].name,
                                                  passive=True).message_count
    finally:
        connection.close()


def test_reports_wait_in_rabbitmq_while_the_monitor_is_down_for_30_s(pipeline, pipeline_db):
    creator, _, app = pipeline.worker("creator")
    order = download_order(pipeline)
    reporter = holder(app, creator, create_task_of(order)["_id"])
    # The claim is answered before the order follows it (created -> creating): wait for both.
    wait_until(lambda: order_of(pipeline, order["_id"])["status"] == "creating")
    pipeline.monitor.process.kill9()
    down = time.monotonic()
    try:
        send_a_whole_build(reporter, stored_result(pipeline, order, create_task_of(order)["_id"]))
        wait_until(lambda: waiting_reports(pipeline, creator) >= reporter.last_seq)  # all kept by RabbitMQ
        assert order_of(pipeline, order["_id"])["status"] == "creating"  # its claim was the last news
        time.sleep(max(0.0, MONITOR_DOWN - (time.monotonic() - down)))  # the outage lasts its length
    finally:
        pipeline.monitor.start()
    assert_complete(pipeline, pipeline_db, order, reporter)


def test_a_database_restart_mid_stream_loses_nothing(pipeline, pipeline_db):
    creator, _, app = pipeline.worker("creator")
    order = download_order(pipeline)
    reporter = holder(app, creator, create_task_of(order)["_id"])
    reporter.progress("starting", 0, 1, 0)  # its connection is up, as a working creator's is
    wait_until(lambda: (pipeline_task(pipeline, order["_id"]).get("progress") or {}).get("step") == "starting")
    log = pipeline.monitor.process.log_path
    offset = os.path.getsize(log)
    pipeline.ferretdb.kill9()
    try:
        send_a_whole_build(reporter, stored_result(pipeline, order, create_task_of(order)["_id"]))
        # The monitor met the outage: the report waits in its lane (the later ones behind it, unacknowledged).
        wait_until(lambda: "is tried again" in logged_since(log, offset), timeout=30)
    finally:
        pipeline.ferretdb.start()
    assert_complete(pipeline, pipeline_db, order, reporter)


def logged_since(path, offset):
    with open(path, errors="replace") as handle:
        handle.seek(offset)
        return handle.read()


def test_a_broker_restart_mid_pipeline_loses_nothing(pipeline, pipeline_db):
    creator, _, app = pipeline.worker("creator")
    order = download_order(pipeline)
    reporter = holder(app, creator, create_task_of(order)["_id"])
    pipeline.monitor.stop()
    try:
        reporter.status("downloading")
        pipeline.rabbitmq.restart()  # persistent reports in a durable queue survive it
    finally:
        pipeline.monitor.start()
    send_a_whole_build(reporter, stored_result(pipeline, order, create_task_of(order)["_id"]))
    assert_complete(pipeline, pipeline_db, order, reporter)


def test_after_a_broker_restart_the_first_publish_to_a_new_queue_goes_out_at_once(pipeline, pipeline_db):
    # The monitor's publisher, its pooled connection closed by the restart: a write task for a host whose
    # queue it never declared once waited for the beat ("Connection reset by peer" on the declare).
    app = make_celery({"url": pipeline.rabbitmq.url, "username": "cardshop-system",
                       "password_file": pipeline.system_password_file, "heartbeat": 10}, "test-publisher")
    publisher = Publisher(app, pipeline_db)
    order = download_order(pipeline)
    create = create_task_of(order)
    assert publisher.publish(pipeline_db.tasks.find_one({"_id": create["_id"]}))  # the pool holds a connection
    pipeline.monitor.stop()
    try:
        pipeline.rabbitmq.restart()
    finally:
        pipeline.monitor.start()
    write = tasks.new_task(order["_id"], "write", "test", now(), writer=f"writer-{create['_id'][-6:]}")
    tasks.insert(pipeline_db, write)
    assert publisher.publish(write), "published at once, not left for the beat"
    queued = pipeline_db.tasks.find_one({"_id": write["_id"]})
    assert queued["published_at"] is not None
    with app.connection_for_write() as connection:
        assert connection.default_channel.queue_declare(f"write.{write['writer']}", passive=True).message_count == 1
    pipeline_db.tasks.delete_one({"_id": write["_id"]})


def test_a_done_report_waits_while_the_warehouse_cannot_be_asked(pipeline):
    creator, _, app = pipeline.worker("creator")
    order = download_order(pipeline)
    task_id = create_task_of(order)["_id"]
    result = stored_result(pipeline, order, task_id)
    reporter = holder(app, creator, task_id)
    for status in ("downloading", "building", "uploading"):
        reporter.status(status)
    wait_until(lambda: pipeline_task(pipeline, order["_id"])["status"] == "uploading")
    log_path = pipeline.monitor.process.log_path
    offset = os.path.getsize(log_path)
    pipeline.warehouse.stop()
    try:
        reporter.status("done", result=result)
        wait_until(lambda: "cannot check the result in the warehouse" in open(log_path).read()[offset:])
        assert order_of(pipeline, order["_id"])["status"] == "creating"
    finally:
        pipeline.warehouse.start()
    assert order_in(pipeline, order["_id"], ("ready", "creation_failed"), timeout=60)["status"] == "ready"
