"""A worker's reports while the broker refuses them for now: kept, in order, and other callers not held up."""

import logging
import threading

from cardshop.pipeline.reports import Reporter
from devstack.processes import wait_until
from tests.conftest import order_body
from tests.integration.claiming import accepted
from tests.integration.pipeline.test_monitor import create_task_of, pipeline_task, take_message


def test_a_refused_report_waits_without_holding_up_ticks_then_goes_out_before_the_next(pipeline, caplog):
    caplog.set_level(logging.WARNING, logger="cardshop.pipeline.reports")
    creator, _, app = pipeline.worker("creator")
    other, _, _ = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "download"}, quantity=1)).body
    task = create_task_of(order)
    _, kwargs = take_message(app, "create", task["_id"])
    reporter = Reporter(app, creator, task["_id"], run=accepted(app, creator, kwargs))
    # Sent into another account's exchange, the report is refused (403), as while the scheduler is away.
    reporter.username = other
    sending = threading.Thread(target=reporter.status, args=("downloading",), daemon=True)
    try:
        sending.start()
        wait_until(lambda: "refused by the broker for now" in caplog.text, timeout=20)
        ticked = []
        ticking = threading.Thread(target=lambda: ticked.append(reporter.progress("downloading", 1, 2, 1.0)),
                                   daemon=True)
        ticking.start()
        ticking.join(timeout=2)
        assert not ticking.is_alive(), "a progress tick waited behind the refused report"
        assert ticked == [None], "the tick was skipped, not numbered behind the refused report"
        assert sending.is_alive(), "the refused report is still being sent, never dropped"
    finally:
        reporter.username = creator  # the broker accepts again
    sending.join(timeout=30)
    assert not sending.is_alive()
    assert reporter.status("building") == 2
    wait_until(lambda: pipeline_task(pipeline, order["_id"]).get("last_seq") == 2, timeout=60)
    assert pipeline_task(pipeline, order["_id"])["status"] == "building", "both applied, in order"
