"""Reports from real worker credentials through RabbitMQ, applied by the real monitor."""

import hashlib
import json
import os
import time

import pytest

from cardshop.pipeline import topology
from cardshop.pipeline.heartbeat import Heartbeat
from cardshop.pipeline.reports import Reporter
from devstack.processes import wait_until
from tests.conftest import order_body
from tests.integration.claiming import accepted, claim
from tests.integration.conftest import dropped, register_slots


def take_messages(app, queue, task_ids, timeout=10):
    """Take the tasks' messages from a queue the worker may read: {task id: (headers, kwargs)}.

    Messages of other tasks (left by earlier tests, whose orders are over) are dropped.
    """
    found = {}
    deadline = time.monotonic() + timeout
    with app.connection_for_read() as connection:
        channel = connection.default_channel
        while time.monotonic() < deadline and set(found) != set(task_ids):
            message = channel.basic_get(queue, no_ack=False)
            if message is None:
                time.sleep(0.05)
                continue
            channel.basic_ack(message.delivery_tag)
            if message.headers["id"] in task_ids:
                found[message.headers["id"]] = (message.headers, json.loads(message.body)[1])
    if set(found) != set(task_ids):
        raise AssertionError(f"no message for tasks {set(task_ids) - set(found)} in {queue}")
    return found


def take_message(app, queue, task_id, timeout=10):
    return take_messages(app, queue, [task_id], timeout)[task_id]


def send_raw(app, username, body):
    with app.producer_pool.acquire(block=True) as producer:
        producer.publish(body, exchange=topology.account_exchange(username), routing_key=topology.REPORT_KEY,
                         declare=[], serializer="json", delivery_mode=2, user_id=username)


def announce_writer(app, username, slots=2, host="host", admin=None):
    """A heartbeat, as a writer host sends them (a creator's has no slots); with `admin`, the host's slots are
    registered first (a writer's heartbeats are filed only for a host with registered slots)."""
    if admin is not None:
        register_slots(admin, username, host, range(1, slots + 1))
    Heartbeat(app, username, host, lambda: {"slots": slots, "active": 0}).send()


def stored_result(pipeline, order, task_id, image=b"compressed image"):
    """Put an image's three files in the warehouse (as a creator would) and return the result to report."""
    name = order.get("auto_image") or order["_id"]
    folder = os.path.join(pipeline.warehouse.root, task_id)
    os.makedirs(folder, exist_ok=True)
    checksum = hashlib.sha256(b"raw image").hexdigest()
    contents = {f"{name}.img.zst": image, f"{name}.bmap": b"<bmap/>\n",
                f"{name}.sha256": f"{checksum}  {name}.img\n".encode()}
    for file_name, data in contents.items():
        with open(os.path.join(folder, file_name), "wb") as handle:
            handle.write(data)
    return {"warehouse": "main", "folder": task_id,
            "files": {"image": f"/{task_id}/{name}.img.zst", "bmap": f"/{task_id}/{name}.bmap",
                      "sha256": f"/{task_id}/{name}.sha256"},
            "sha256": checksum, "image_size": 9, "compressed_size": len(image), "mapped_size": 9,
            "card_size": 4, "data_offset": 0}


def order_of(pipeline, order_id):
    return pipeline.admin.get(f"/orders/{order_id}").body


def order_in(pipeline, order_id, statuses, timeout=20):
    """The order, once its status is one of `statuses` (one read per poll)."""
    return wait_until(lambda: (lambda order: order.get("status") in statuses and order)(
        order_of(pipeline, order_id)), timeout=timeout)


def create_task_of(order):
    return next(task for task in order["tasks"] if task["kind"] == "create")


def test_a_download_order_is_published_at_once_and_reports_drive_it_to_ready(pipeline):
    creator, _, app = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "download"}, quantity=1)).body
    task = create_task_of(order)
    assert task["published_at"], "the scheduler publishes the task when the order is placed"
    headers, kwargs = take_message(app, "create", task["_id"])
    assert headers["id"] == task["_id"] and headers["task"] == topology.CREATE_TASK
    assert kwargs["recipe"] == order["recipe"] and kwargs["order"] == order["_id"]

    reporter = Reporter(app, creator, task["_id"], run=accepted(app, creator, kwargs))  # the claim: `received`
    reporter.progress("downloading", 50, 100, 1e6, 1)
    announce_writer(app, creator, slots=1)  # a creator host's own events (same format)
    busy = wait_until(lambda: [w for w in pipeline.admin.get(f"/workers/{creator}@host").body.get("current_tasks", [])
                               if w.get("progress")])
    assert busy[0]["_id"] == task["_id"] and busy[0]["progress"]["percent"] == 50
    reporter.log("fetched wiki.zim")
    for status in ("downloading", "building", "uploading"):
        reporter.status(status)
    reporter.status("done", result=stored_result(pipeline, order, task["_id"]))
    done = order_in(pipeline, order["_id"], ("ready",))
    assert [entry["status"] for entry in done["statuses"]] == ["created", "creating", "ready"]
    assert done["image"]["compressed_size"] == len(b"compressed image")
    task = create_task_of(done)
    assert [entry["status"] for entry in task["statuses"]] == [
        "pending", "received", "downloading", "building", "uploading", "done"]
    assert task["worker"] == creator and task["progress"]["percent"] == 50


def test_a_physical_order_gets_write_tasks_on_a_live_writer_and_ends_pending_shipment(pipeline):
    creator, _, create_app = pipeline.worker("creator")
    writer, _, write_app = pipeline.worker("writer")
    announce_writer(write_app, writer, slots=50, admin=pipeline.admin)  # the most free slots: it gets the work
    wait_until(lambda: pipeline.admin.get(f"/workers/{writer}@host").status == 200)
    order = pipeline.admin.post("/orders", order_body(quantity=2)).body
    _, kwargs = take_message(create_app, "create", create_task_of(order)["_id"])
    reporter = Reporter(create_app, creator, create_task_of(order)["_id"], run=accepted(create_app, creator, kwargs))
    reporter.status("done", result=stored_result(pipeline, order, create_task_of(order)["_id"]))

    writes = wait_until(lambda: (lambda found: len(found) == 2 and found)(
        [t for t in order_of(pipeline, order["_id"])["tasks"] if t["kind"] == "write" and t.get("published_at")]))
    assert len(writes) == 2 and {t["writer"] for t in writes} == {writer}
    messages = take_messages(write_app, f"write.{writer}", [task["_id"] for task in writes])
    assert {headers["id"] for headers, _ in messages.values()} == {t["_id"] for t in writes}
    Heartbeat(write_app, writer, "host.slot-1", lambda: {"slots": 1, "slot": {"number": 1, "state": "busy"}}).send()
    wait_until(lambda: pipeline.admin.get(f"/workers/{writer}@host").body.get("slot_states"))
    write_cards(pipeline, write_app, writer, writes, messages, order_of(pipeline, order["_id"])["image"],
                order["_id"])
    final = order_in(pipeline, order["_id"], ("pending_shipment",))
    assert len(final["cards"]) == 2
    assert [e["status"] for e in final["statuses"]] == [
        "created", "creating", "pending_writer", "writing", "pending_shipment"]


def write_cards(pipeline, app, writer, writes, messages, image, name, serials="0x"):
    """Claim and write each task of `writes` on slot 1 of `writer`'s host, reporting the image `name` as a
    writer does (from its files) with the order's `image` checksum and size, until each counts."""
    for serial, task in enumerate(writes):
        card = {"size": 4 * 10 ** 9, "serial": f"{serials}{serial}"}
        run = Reporter(app, writer, task["_id"], run=accepted(app, writer, messages[task["_id"]][1], slot=1,
                                                              card=card))
        for status in ("downloading", "waiting_for_card", "writing", "verifying"):
            run.status(status)
        run.status("written", result={"host": "host", "slot": 1, "image": name, "sha256": image["sha256"],
                                      "image_size": image["image_size"], "mapped_bytes": 5, "verified_bytes": 5,
                                      "card": card})
        # One slot holds one task at a time: the next claim on it waits for this card to count.
        wait_until(lambda: pipeline.admin.get(f"/tasks/{task['_id']}").body["status"] == "written")


def test_duplicates_and_out_of_order_reports_change_nothing(pipeline):
    creator, _, app = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body()).body
    task_id = create_task_of(order)["_id"]
    run = accepted(app, creator, take_message(app, "create", task_id)[1], run="a" * 32)
    report = {"task": task_id, "run": run, "type": "status", "at": "2026-01-01T00:00:00Z"}
    for seq, status in ((1, "received"), (1, "received"), (3, "building"), (2, "downloading"), (3, "building")):
        send_raw(app, creator, {**report, "seq": seq, "status": status})
    send_raw(app, creator, {**report, "seq": 4, "type": "progress",
                            "progress": {"percent": 40, "bytes": 4, "total": 10, "rate": 1, "eta": 6}})
    send_raw(app, creator, {**report, "seq": 3, "type": "progress",  # older: ignored
                            "progress": {"percent": 30, "bytes": 3, "total": 10, "rate": 1, "eta": 7}})
    send_raw(app, creator, {**report, "seq": 5, "status": "downloading"})  # backwards: ignored
    send_raw(app, creator, {**report, "seq": 6, "type": "log", "level": "info", "message": "marker"})
    wait_until(lambda: pipeline_task(pipeline, order["_id"]).get("last_seq") == 6)
    task = pipeline_task(pipeline, order["_id"])
    assert [e["status"] for e in task["statuses"]] == ["pending", "received", "building"]
    assert task["status"] == "building" and task["progress"]["percent"] == 40


def test_reports_of_many_tasks_sent_at_once_are_applied_each_tasks_in_order(pipeline):
    """The monitor applies different tasks' reports side by side (monitor/lanes.py), never one task's out of order."""
    creator, _, app = pipeline.worker("creator")
    orders = [pipeline.admin.post("/orders", order_body()).body for _ in range(12)]
    runs = {}
    for order in orders:
        task_id = create_task_of(order)["_id"]
        runs[task_id] = accepted(app, creator, take_message(app, "create", task_id)[1])
    at = "2026-01-01T00:00:00Z"
    for step, status in enumerate(("downloading", "building", "uploading")):  # each step across every task
        for task_id, run in runs.items():
            report = {"task": task_id, "run": run, "at": at}
            send_raw(app, creator, {**report, "seq": 2 * step + 1, "type": "progress", "progress": {
                "percent": 10 * step, "bytes": step, "total": 10, "rate": 1, "eta": 6}})
            send_raw(app, creator, {**report, "seq": 2 * step + 2, "type": "status", "status": status})

    def tasks():
        return [pipeline_task(pipeline, order["_id"]) for order in orders]
    wait_until(lambda: all(task.get("last_seq") == 6 for task in tasks()), timeout=60)
    for task in tasks():
        assert [entry["status"] for entry in task["statuses"]] == [
            "pending", "received", "downloading", "building", "uploading"], task["_id"]


def pipeline_task(pipeline, order_id):
    return pipeline.admin.get(f"/tasks?order={order_id}&kind=create").body["items"][0]


def test_a_redelivered_task_is_taken_over_by_the_new_run_and_never_moves_back(pipeline):
    creator, _, app = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "download"}, quantity=1)).body
    task_id = create_task_of(order)["_id"]
    _, kwargs = take_message(app, "create", task_id)
    first = Reporter(app, creator, task_id, run=accepted(app, creator, kwargs, instance="1" * 32))
    first.status("building")
    # The worker's process dies; the message goes to its restarted process, which claims it again.
    second = Reporter(app, creator, task_id, run=accepted(app, creator, kwargs, instance="2" * 32))
    second.status("downloading")
    first.status("done")  # the dead run's late report: stale
    # Reports are applied in order: once the new run's next one shows, the stale one was dealt with.
    second.progress("after the stale report", 1, 1, 0)
    task = wait_until(lambda: (lambda task: (task.get("progress") or {}).get("step") == "after the stale report"
                                            and task)(pipeline_task(pipeline, order["_id"])))
    assert task["status"] == "building" and task["runs"] == 2
    second.status("uploading")
    second.status("done", result=stored_result(pipeline, order, task_id))
    wait_until(lambda: order_of(pipeline, order["_id"])["status"] == "ready")


def test_reports_from_workers_that_do_not_hold_the_task_are_refused(pipeline, pipeline_db):
    creator, _, create_app = pipeline.worker("creator")
    writer, _, write_app = pipeline.worker("writer")
    other_writer, _, other_app = pipeline.worker("writer")
    announce_writer(write_app, writer, slots=4, admin=pipeline.admin)
    wait_until(lambda: pipeline.admin.get(f"/workers/{writer}@host").status == 200)
    order = pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "physical"}, quantity=1)).body
    create_id = create_task_of(order)["_id"]
    _, kwargs = take_message(create_app, "create", create_id)
    before = dropped(pipeline_db, "refused")
    # A writer may neither claim nor report on a create task, even with its message.
    assert claim(write_app, writer, kwargs)["decision"] == "refused"
    Reporter(write_app, writer, create_id).status("received")
    # A creator claims it; a writer's "done" on it is refused.
    holder = Reporter(create_app, creator, create_id, run=accepted(create_app, creator, kwargs))
    Reporter(write_app, writer, create_id, run=holder.run).status("done")
    wait_until(lambda: dropped(pipeline_db, "refused") >= before + 2)
    assert pipeline_task(pipeline, order["_id"])["status"] == "received"
    holder.status("done", result=stored_result(pipeline, order, create_id))
    write_task = wait_until(lambda: [t for t in order_of(pipeline, order["_id"])["tasks"]
                                     if t["kind"] == "write" and t.get("published_at")])
    _, write_kwargs = take_message(write_app, f"write.{writer}", write_task[0]["_id"])
    # Another writer host cannot claim or finish this host's write task, even with its message.
    card = {"size": 4 * 10 ** 9, "serial": None}
    assert claim(other_app, other_writer, write_kwargs, slot=1, card=card)["decision"] == "refused"
    Reporter(other_app, other_writer, write_task[0]["_id"]).status("written")
    wait_until(lambda: dropped(pipeline_db, "refused") >= before + 3)
    assert pipeline.admin.get(f"/tasks/{write_task[0]['_id']}").body["status"] == "pending"


def test_a_report_claiming_another_users_name_never_reaches_the_monitor(pipeline):
    creator, _, app = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body()).body
    body = {"task": create_task_of(order)["_id"], "run": "b" * 32, "seq": 1, "type": "status",
            "status": "received", "at": "2026-01-01T00:00:00Z"}
    with pytest.raises(Exception, match="PRECONDITION_FAILED|user_id"):
        with app.producer_pool.acquire(block=True) as producer:
            producer.publish(body, exchange=topology.account_exchange(creator), routing_key=topology.REPORT_KEY,
                             declare=[], serializer="json", user_id="cardshop-system")
            producer.channel.connection.drain_events(timeout=3)
    # The creator's own claim, sent after it, is the first run: nothing came before it.
    accepted(app, creator, take_message(app, "create", create_task_of(order)["_id"])[1])
    task = wait_until(lambda: (lambda task: task["status"] == "received" and task)(
        pipeline_task(pipeline, order["_id"])))
    assert task["worker"] == creator and task["runs"] == 1
