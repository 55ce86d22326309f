"""The beat keeps its schedule through a database outage and a warehouse outage."""

import os
import time

from devstack.processes import wait_until
from tests import outages
from tests.integration.faults.conftest import assert_no_order_stranded, schedule
from tests.integration.faults.test_reconcile import logged

OUTAGE = outages.length("beat_database", 30, minimum=15)  # several 5 s syncs fail


def runs(db, name):
    return db.schedules.find_one({"name": name})["total_run_count"]


def test_the_beat_runs_its_schedule_again_after_a_30_s_database_outage(stack, db, ferretdb, beat):
    schedule(stack, "purge-tokens", every=2)
    before = wait_until(lambda: runs(db, "purge-tokens") > 0 and runs(db, "purge-tokens"), timeout=30)
    ferretdb.kill9()
    try:
        time.sleep(OUTAGE)  # long enough for several syncs to fail (database timeout 5 s)
        assert beat.process.running()
    finally:
        ferretdb.start()
    after = wait_until(lambda: runs(db, "purge-tokens") > before + 2 and runs(db, "purge-tokens"), timeout=60)
    assert after > before + 2, "the schedule runs and syncs again without a restart"
    assert logged(beat, "the database does not answer")
    assert_no_order_stranded(db)


def test_the_beat_leaves_warehouse_clean_up_for_later_while_the_warehouse_is_down(stack, db, beat):
    order = stack.admin.post("/orders", {
        "recipe": {"output": {"size": "64M"}, "files": [{"to": "/data/x.txt", "content": "x"}]},
        "sd_card": {"size": 4, "type": "download"}, "quantity": 1,
        "recipient": {"name": "Ada", "email": "ada@example.org", "address": "1 Main St"}}).body
    folder = os.path.join(stack.warehouse.root, order["tasks"][0]["_id"])
    os.makedirs(folder)
    assert stack.admin.post(f"/orders/{order['_id']}/cancel").status == 200
    stack.warehouse.stop()
    try:
        schedule(stack, "clean-warehouse", every=2)
        wait_until(lambda: logged(beat, f"{order['_id']}: cannot log into the warehouse"), timeout=90)
        assert os.path.exists(folder) and beat.process.running()
    finally:
        stack.warehouse.start()
    wait_until(lambda: not os.path.exists(folder), timeout=30)
    assert logged(beat, "Connection refused") and not logged(beat, "NoneType")
    assert_no_order_stranded(db)
