"""Recovery after an outage: from a dependency's return to the first successful retry.

Goal for each: no longer than the back-off step in force when it returned, plus 2 s.
"""

import re
import time

from cardshop.pipeline.reports import Reporter
from cardshop.store import now
from devstack.processes import wait_until
from tests.integration.claiming import accepted
from tests.integration.pipeline.test_monitor import take_message

KOMBU_INTERVALS = (2, 2, 30)  # interval_start, interval_step, interval_max: kombu's reconnect defaults


def _retry_steps(db, since):
    """(task, the waits it announced since `since`: "... retry 3 in 8 s ...", in order) of the retrying task.

    The creator may first take an older task left in the queue by an earlier figure, so the task
    is the one that logs retries, not necessarily the order just placed.
    """
    lines = list(db.task_logs.find({"at": {"$gte": since}, "message": {"$regex": "unreachable, retry"}}).sort("seq", 1))
    if not lines:
        return None, []
    task_id = lines[-1]["task"]
    return task_id, [float(re.search(r"retry \d+ in (\d+) s", line["message"]).group(1))
                     for line in lines if line["task"] == task_id]


def warehouse_recovery(pipe, db, report, place):
    creator = pipe.start_creator(name="outage-creator", retry_window=600)
    pipe.warehouse.stop()
    since = now()
    try:
        place(pipe.admin)
        task_id, steps = wait_until(lambda: (lambda found: len(found[1]) >= 3 and found)(_retry_steps(db, since)),
                                    timeout=120, interval=0.05)
    finally:
        pipe.warehouse.start()
    back = time.monotonic()
    wait_until(lambda: db.tasks.find_one({"_id": task_id, "status": "done"}), timeout=120, interval=0.05)
    recovered = time.monotonic() - back
    creator.stop()
    goal = steps[-1] + 2
    report("Outage: warehouse back -> the creator's upload succeeds",
           f"{recovered:.1f} s after the warehouse returned; back-off step in force {steps[-1]:.0f} s",
           goal / recovered, 1.0, extra=f"goal <= {goal:.0f} s (ratio = goal / measured)")


def broker_recovery(pipe, db, report, place, outage=20):
    username, _, app = pipe.worker("creator")
    order = place(pipe.admin)
    task_id = order["tasks"][0]["_id"]
    run = accepted(app, username, take_message(app, "create", task_id)[1])
    pipe.rabbitmq.stop()
    time.sleep(outage)
    pipe.rabbitmq.start()
    back = time.monotonic()
    Reporter(app, username, task_id, run=run).status("downloading")  # waits in the broker for the monitor
    wait_until(lambda: db.tasks.find_one({"_id": task_id, "status": "downloading"}), timeout=120, interval=0.05)
    recovered = time.monotonic() - back
    start, step, most = KOMBU_INTERVALS
    waited, interval = 0, start
    while waited + interval < outage:  # the monitor's reconnect attempts during the outage
        waited += interval
        interval = min(most, interval + step)
    goal = interval + 2
    report("Outage: broker back -> the monitor applies a report",
           f"{recovered:.1f} s after RabbitMQ returned ({outage} s outage); reconnect step in force {interval} s",
           goal / recovered, 1.0, extra=f"goal <= {goal} s (ratio = goal / measured)")


def run(report, pipe, db, place):
    """`place(admin)` places a small download order and returns it."""
    warehouse_recovery(pipe, db, report, place)
    broker_recovery(pipe, db, report, place)
