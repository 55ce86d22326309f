"""An operator retries a failed order: one new attempt of its create task, published; concurrent retries make one."""

import concurrent.futures

from tests.conftest import order_body
from tests.integration.claiming import holder
from tests.integration.pipeline.test_monitor import create_task_of, order_in, take_message


def failed_order(pipeline):
    """A download order whose create task failed (reported by a real creator account through the broker)."""
    creator, _, app = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "download"}, quantity=1)).body
    task = create_task_of(order)
    reporter = holder(app, creator, task["_id"])
    reporter.status("failed", note="content server unreachable (retried for 10 min)")
    return order_in(pipeline, order["_id"], ("creation_failed",)), app


def test_a_failed_order_is_retried_with_a_new_published_attempt(pipeline):
    order, app = failed_order(pipeline)
    reply = pipeline.admin.post(f"/orders/{order['_id']}/retry", {"reason": "content server is back"})
    assert reply.status == 200, reply
    assert reply.body["status"] == "created"
    assert reply.body["statuses"][-1]["note"] == "content server is back"
    first, second = sorted(reply.body["tasks"], key=lambda task: task["attempt"])
    assert (first["status"], second["status"], second["attempt"]) == ("failed", "pending", 2)
    assert second["retry_of"] == first["_id"] and second["published_at"]
    take_message(app, "create", second["_id"])  # the new attempt is in the queue

    again = pipeline.admin.post(f"/orders/{order['_id']}/retry")
    assert again.status == 409 and "only a creation_failed or write_failed order" in again.body["error"]


def test_of_concurrent_retries_exactly_one_makes_an_attempt(pipeline, pipeline_db):
    for _ in range(3):
        order, _ = failed_order(pipeline)
        with concurrent.futures.ThreadPoolExecutor(20) as pool:
            replies = list(pool.map(lambda _: pipeline.admin.post(f"/orders/{order['_id']}/retry"), range(20)))
        assert sorted(reply.status for reply in replies) == [200] + [409] * 19
        assert pipeline_db.tasks.count_documents({"order": order["_id"], "kind": "create"}) == 2


def test_an_order_that_did_not_fail_is_not_retried(pipeline):
    order = pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "download"}, quantity=1)).body
    reply = pipeline.admin.post(f"/orders/{order['_id']}/retry")
    assert reply.status == 409 and "is created" in reply.body["error"]
    assert pipeline.admin.post("/orders/0123456789abcdef01234567/retry").status == 404

