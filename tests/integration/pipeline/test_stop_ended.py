"""A worker that goes on with a task we ended (timed out, canceled) is told to stop, through the cancel broadcast."""

from cardshop.pipeline.cancel import CancelListener
from cardshop.states import task_machine
from cardshop.store.transitions import transition
from devstack.processes import wait_until
from tests.conftest import order_body
from tests.integration.claiming import holder
from tests.integration.pipeline.test_monitor import create_task_of


def test_a_worker_still_reporting_on_a_timed_out_task_is_told_to_stop(pipeline, pipeline_db):
    creator, _, app = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "download"}, quantity=1)).body
    task_id = create_task_of(order)["_id"]
    reporter = holder(app, creator, task_id)
    wait_until(lambda: pipeline_db.tasks.find_one({"_id": task_id})["status"] == "received")
    # The beat gave up on it (as time_out_tasks does), but its worker was only slow.
    transition(pipeline_db.tasks, task_id, task_machine("create"), "timed_out", "beat", note="silent for 900 s")
    listener = CancelListener(app)
    listener.start()
    try:
        assert listener.ready.wait(10)
        token = listener.register(task_id)
        reporter.progress("downloading", 10, 100, 1e6)
        assert wait_until(lambda: token.reason, timeout=20) == "the task was timed out"
    finally:
        listener.stop()
