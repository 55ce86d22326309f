"""The scheduler away for a minute: warehouse logins answer "try later", the creator waits, the order completes."""

import time

from devstack import samples
from devstack.processes import wait_until
from devstack.servers import ContentServer
from tests import outages
from tests.integration.faults.conftest import assert_no_order_stranded
from tests.integration.faults.test_creator_outages import RECIPE, retry_logs
from tests.integration.pipeline.test_creator import place
from tests.integration.pipeline.test_monitor import create_task_of, order_in

OUTAGE = outages.length("scheduler", 60, minimum=30)  # past the warehouse's 10 s identity cache, thrice


def test_a_scheduler_down_for_60_s_makes_logins_try_later_and_the_order_completes(stack, db):
    creator = stack.start_creator(name="token-creator", retry_window=600)
    slow = ContentServer(stack.base, name="slow-content-2", rate=1024 * 1024)
    slow.start()
    try:
        # A first order: the creator holds a warehouse token (valid an hour) before the outage.
        warm = place(stack, RECIPE)
        assert order_in(stack, warm["_id"], ("ready", "creation_failed"), timeout=90)["status"] == "ready"
        big = samples.make_random_file(slow.root, "big.zim", 8 * 1024 * 1024)
        order = place(stack, {"output": {"size": "64M"}, "files": [
            {"to": "/data/big.zim", "url": f"{slow.url}/big.zim", "checksum": samples.checksum(big)}]})
        wait_until(lambda: db.tasks.find_one({"order": order["_id"], "status": "downloading"}), timeout=60)
        stack.scheduler.stop()
        stopped = time.monotonic()
        try:
            line = wait_until(lambda: retry_logs(db, order["_id"], "warehouse ftp://"), timeout=OUTAGE)[0]
            assert "421" in line, line
            time.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped)))
            assert db.orders.find_one({"_id": order["_id"]})["status"] == "creating"
        finally:
            stack.scheduler.start()
        try:
            done = order_in(stack, order["_id"], ("ready", "creation_failed"), timeout=120)
        except AssertionError:
            raise AssertionError(f"order still {db.orders.find_one({'_id': order['_id']})['status']}; task log: "
                                 f"{retry_logs(db, order['_id'], '')}") from None
        assert done["status"] == "ready", create_task_of(done).get("reason")
    finally:
        slow.stop()
        creator.stop()
    assert_no_order_stranded(db)
