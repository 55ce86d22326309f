"""The beat and writer hosts: queued write tasks are not timed out, busy slots keep theirs, an offline host's
queued tasks move to a live one."""

import datetime

import pytest

from cardshop.pipeline.cancel import CancelListener
from cardshop.store import now
from devstack.processes import wait_until
from tests.integration.pipeline.test_monitor import order_of, take_messages
from tests.integration.security.writer_host import (WriterHost, only_these_writers, order_waiting_for_writers,
                                                    write_tasks)

FAST = {"time-out-tasks": {"every": 1, "params": {"timeout": 60, "max_attempts": 5}},
        "move-offline-writers": {"every": 1, "params": {"offline_after": 30}},
        "reconcile": {"every": 2, "params": {"older_than": 60, "max_attempts": 5}}}
DEFAULTS = {"time-out-tasks": {"every": 60, "params": {"timeout": 900, "max_attempts": 3}},
            "move-offline-writers": {"every": 60, "params": {"offline_after": 600}},
            "reconcile": {"every": 300, "params": {"older_than": 120, "max_attempts": 3}}}


@pytest.fixture(scope="module")
def beat(pipeline):
    server = pipeline.start_beat()
    try:
        for name, change in FAST.items():
            reply = wait_until(lambda: (lambda r: r.status != 404 and r)(
                pipeline.admin.patch(f"/schedules/{name}", change)), timeout=30)
            assert reply.status == 200, reply
        yield server
    finally:
        server.stop()
        for name, change in DEFAULTS.items():
            pipeline.admin.patch(f"/schedules/{name}", change)


def an_hour_ago():
    return now() - datetime.timedelta(hours=1)


def task_of(pipeline, task_id):
    return pipeline.admin.get(f"/tasks/{task_id}").body


def runs_of(pipeline, schedule):
    return pipeline.admin.get(f"/schedules/{schedule}").body["total_run_count"]


def start(host, task_id, *steps, slot=1):
    run = host.claim(task_id, slot=slot)
    for status in steps:
        host.report(task_id, run, status)
    return run


def a_host_with_the_image(hostile, name, slots=3):
    host = WriterHost(hostile("writer"), name)

    def holds(order):
        host.images = [order["_id"]]
        host.slots(*["ready"] * slots)
    return host, holds


def test_a_requeued_task_or_one_its_slot_still_works_on_is_not_timed_out(pipeline, pipeline_db, hostile, beat):
    creator = hostile("creator")
    host, holds = a_host_with_the_image(hostile, "timing")
    order = order_waiting_for_writers(pipeline, creator, quantity=3, before_done=holds)
    requeued, busy, silent = (task["_id"] for task in write_tasks(order))
    run = start(host, requeued, "writing", slot=1)
    host.report(requeued, run, "requeued", note="slot 1: verification mismatch at byte 1048576")
    start(host, busy, "writing", slot=2)
    start(host, silent, "writing", slot=3)
    wait_until(lambda: [task_of(pipeline, task_id)["status"] for task_id in (requeued, busy, silent)]
               == ["requeued", "writing", "writing"])
    host.slot(2, "busy", task=busy, order=order["_id"], step="writing", percent=10, rate=1e6)
    wait_until(lambda: pipeline_db.workers.find_one({"_id": f"{host.name}.slot-2", "slot.task": busy}))
    # Nothing came for an hour, as far as the task documents say.
    for task_id in (requeued, busy, silent):
        pipeline_db.tasks.update_one({"_id": task_id}, {"$set": {"last_report_at": an_hour_ago(),
                                                                 "updated_at": an_hour_ago()}})
    wait_until(lambda: task_of(pipeline, silent)["status"] == "timed_out", timeout=30)
    runs = runs_of(pipeline, "time-out-tasks")
    host.slot(2, "busy", task=busy, order=order["_id"], step="writing", percent=20, rate=1e6)
    wait_until(lambda: runs_of(pipeline, "time-out-tasks") >= runs + 2, timeout=30)
    assert task_of(pipeline, requeued)["status"] == "requeued"
    assert task_of(pipeline, busy)["status"] == "writing"


def test_an_offline_hosts_queued_tasks_move_to_a_live_host_and_the_old_ones_are_canceled(
        pipeline, pipeline_db, hostile, beat):
    creator = hostile("creator")
    old, holds = a_host_with_the_image(hostile, "gone")
    new = WriterHost(hostile("writer"), "alive")
    order = order_waiting_for_writers(pipeline, creator, quantity=3, before_done=holds)
    tasks = write_tasks(order)
    assert {task["writer"] for task in tasks} == {old.username}
    pending, requeued, writing = (task["_id"] for task in tasks)
    run = start(old, requeued, "writing", slot=1)
    old.report(requeued, run, "requeued", note="slot 1: card removed while writing")
    start(old, writing, "writing", slot=2)
    wait_until(lambda: [task_of(pipeline, task_id)["status"] for task_id in (pending, requeued, writing)]
               == ["pending", "requeued", "writing"])
    listener = CancelListener(old.account.app)  # the old host would hear the cancels when it comes back
    listener.start()
    try:
        assert listener.ready.wait(20)
        tokens = {task_id: listener.register(task_id) for task_id in (pending, requeued)}
        new.slots("ready", "empty")
        only_these_writers(pipeline_db, old, new)
        # The old host went silent an hour ago.
        pipeline_db.workers.update_many({"username": old.username},
                                        {"$set": {"last_seen": an_hour_ago(), "live_until": an_hour_ago()}})
        moved = wait_until(lambda: (lambda found: len(found) == 2 and found)(
            list(pipeline_db.tasks.find({"retry_of": {"$in": [pending, requeued]}}))), timeout=30)
        wait_until(lambda: all(token.canceled for token in tokens.values()), timeout=20)
    finally:
        listener.stop()
    assert {task["writer"] for task in moved} == {new.username}
    assert {task["attempt"] for task in moved} == {2} and {task["moved_from"] for task in moved} == {old.username}
    for task_id in (pending, requeued):
        task = task_of(pipeline, task_id)
        assert task["status"] == "canceled" and "offline" in task["reason"] and new.username in task["reason"]
    assert task_of(pipeline, writing)["status"] == "writing"  # started: the time-out decides its fate
    take_messages(new.account.app, f"write.{new.username}", [task["_id"] for task in moved])
    history = order_of(pipeline, order["_id"])["statuses"]
    assert history[-1]["event"] == "writer_moved" and history[-1]["status"] == "writing"
    assert old.username in history[-1]["note"] and new.username in history[-1]["note"]
    assert all(task["_id"] in history[-1]["note"] for task in moved)


def test_reconcile_redoes_a_stranded_orders_write_tasks_all_on_one_host(pipeline, pipeline_db, hostile, beat):
    creator = hostile("creator")
    lost, holds = a_host_with_the_image(hostile, "lost", slots=1)
    order = order_waiting_for_writers(pipeline, creator, quantity=2, before_done=holds)
    ids = [task["_id"] for task in write_tasks(order)]
    roomy, narrow = WriterHost(hostile("writer"), "roomy"), WriterHost(hostile("writer"), "narrow")
    roomy.slots("ready", "ready")
    narrow.slots("ready")
    only_these_writers(pipeline_db, roomy, narrow)  # the order's host is gone
    # Both tasks timed out without a retry, and the order was left behind an hour ago.
    pipeline_db.tasks.update_many({"_id": {"$in": ids}}, {"$set": {"status": "timed_out", "updated_at": an_hour_ago()}})
    pipeline_db.orders.update_one({"_id": order["_id"]}, {"$set": {"updated_at": an_hour_ago()}})
    redone = wait_until(lambda: (lambda found: len(found) == 2 and found)(
        list(pipeline_db.tasks.find({"retry_of": {"$in": ids}}))), timeout=30)
    assert {task["writer"] for task in redone} == {roomy.username}
