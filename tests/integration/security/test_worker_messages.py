"""Whatever a worker publishes, the monitor validates it, drops what is malformed, and goes on."""

import amqp

from devstack.processes import wait_until
from tests.conftest import order_body
from tests.integration.pipeline.test_monitor import create_task_of, order_in, order_of, stored_result
from tests.integration.conftest import dropped, register_slots

NOW = "2026-01-01T00:00:00Z"


def test_malformed_messages_are_counted_and_dropped_and_the_monitor_keeps_placing_work(pipeline, pipeline_db,
                                                                                     hostile):
    writer, creator = hostile("writer"), hostile("creator")
    before = dropped(pipeline_db, "malformed", "undecodable")
    # An attack that worked once: a JSON array as a Celery heartbeat killed the monitor. Workers may no
    # longer publish Celery events at all; if the broker took it, the monitor must still live.
    try:
        writer.publish([1, 2], exchange="celeryev", routing_key="worker.heartbeat")
    except amqp.exceptions.AccessRefused:
        pass
    beat = {"type": "heartbeat", "worker": f"{writer.username}@host", "online": True, "at": NOW}
    task_id = "0" * 24
    malformed = [
        [1, 2], "x", None, {"type": "status"},
        {"task": task_id, "run": "a" * 32, "seq": "1", "type": "status", "status": "done", "at": NOW},
        {**beat, "slots": "x"},  # crashed writer placement, leaving an order without write tasks
        {**beat, "slots": 10 ** 12}, {**beat, "slots": -1}, {**beat, "images": "wiki"},
        {**beat, "images": [{"$gt": ""}]}, {**beat, "worker": ["x"]}, {**beat, "online": "yes"},
    ]
    for body in malformed:
        writer.publish(body)
    writer.publish(b"{not json", content_type="application/json")
    writer.publish(b"plain words", content_type="text/plain")
    writer.publish(b"\x00\xff", content_type="application/x-python-serialize")  # pickle: never decoded
    expected = before + len(malformed) + 3
    wait_until(lambda: dropped(pipeline_db, "malformed", "undecodable") >= expected, timeout=20)

    # The monitor still applies reports and places write tasks on a (valid) writer host.
    register_slots(pipeline.admin, writer.username, "host", [1, 2])
    writer.heartbeat(slots=2, images=[])
    wait_until(lambda: pipeline.admin.get(f"/workers/{writer.username}@host").body.get("slots") == 2)
    order = pipeline.admin.post("/orders", order_body(quantity=2)).body
    task_id = create_task_of(order)["_id"]
    run = creator.claim(task_id)
    for seq, status in enumerate(("received", "downloading", "building", "uploading"), 1):
        creator.publish({"task": task_id, "run": run, "seq": seq, "type": "status", "status": status, "at": NOW})
    creator.publish({"task": task_id, "run": run, "seq": 5, "type": "status", "status": "done", "at": NOW,
                     "result": stored_result(pipeline, order, task_id)})
    order_in(pipeline, order["_id"], ("pending_writer",))
    wait_until(lambda: len([task for task in order_of(pipeline, order["_id"])["tasks"]
                            if task["kind"] == "write" and task.get("writer")]) == 2)
