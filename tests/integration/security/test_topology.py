"""No worker declares, deletes or redeclares an exchange; the monitor keeps consuming."""

import amqp
import pytest

from devstack.processes import wait_until
from tests.conftest import order_body
from tests.integration.pipeline.test_monitor import create_task_of, pipeline_task
from tests.integration.security.conftest import refused

ATTACKS = [
    ("exchange_delete", ("celeryev",), {}),  # once deleted, then redeclared as fanout
    ("exchange_declare", ("celeryev", "fanout"), {"durable": True, "auto_delete": False}),
    ("exchange_delete", ("reports",), {}),
    ("exchange_declare", ("reports", "fanout"), {"durable": True, "auto_delete": False}),
    ("exchange_delete", ("cancel",), {}),
    ("exchange_delete", ("create",), {}),
    ("exchange_delete", ("write",), {}),
    ("exchange_declare", ("mine", "direct"), {"durable": True, "auto_delete": False}),
    ("queue_delete", ("reports",), {}),
    ("queue_delete", ("create",), {}),
]


@pytest.mark.parametrize("role", ["writer", "creator"])
def test_a_worker_cannot_change_any_exchange_and_reports_still_flow(pipeline, hostile, role):
    attacker = hostile(role)
    for method, args, kwargs in ATTACKS:
        with pytest.raises(amqp.exceptions.AccessRefused) as excinfo:
            getattr(attacker.channel(), method)(*args, **kwargs)
        assert refused(excinfo), (method, args)
    with pytest.raises(amqp.exceptions.AccessRefused):
        attacker.publish({"type": "worker-online", "hostname": f"{attacker.username}@x"},
                         exchange="celeryev", routing_key="worker.online")

    creator = hostile("creator")
    order = pipeline.admin.post("/orders", order_body()).body
    run = creator.claim(create_task_of(order)["_id"])
    creator.publish({"task": create_task_of(order)["_id"], "run": run, "seq": 1, "type": "status",
                     "status": "downloading", "at": "2026-01-01T00:00:00Z"})
    wait_until(lambda: pipeline_task(pipeline, order["_id"])["status"] == "downloading")
