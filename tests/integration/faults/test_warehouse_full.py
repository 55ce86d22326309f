"""A full warehouse disk delays an order, saying so with its numbers; once room is freed the order completes.

The real creator uploads to a warehouse of its own whose root is a small
tmpfs, filled by a ballast file (other orders' images) and then freed.
"""

import os
import re
import time

import pytest

from devstack.processes import wait_until
from devstack.servers import Warehouse
from tests.integration.conftest import fill
from tests.integration.faults.conftest import assert_no_order_stranded
from tests.integration.faults.test_creator_outages import RECIPE, retry_logs
from tests.integration.pipeline.test_monitor import create_task_of, order_in, pipeline_task

FULL = re.compile(r"^warehouse ftp://\S+ full: (\d+) bytes needed, (\d+) free, retry 1 in \d+ s$")


@pytest.fixture
def small_warehouse(stack, small_disk):
    """A warehouse on a 16 MiB tmpfs, known to the scheduler as `small-…`: (name, its disk)."""
    disk = small_disk("16m")
    server = Warehouse(os.path.join(stack.base, f"small-{os.path.basename(disk)}-{time.monotonic_ns()}"),
                       stack.scheduler.url, root=os.path.join(disk, "root"))
    os.makedirs(server.dir)
    server.start()
    name = f"small-{server.port}"
    reply = stack.admin.post("/warehouses", {"name": name, "upload_url": server.url, "download_url": server.url})
    assert reply.status == 201, reply.body
    yield name, disk
    server.stop()


def test_a_full_warehouse_delays_the_upload_saying_so_and_the_order_completes_once_room_is_freed(
        stack, db, small_warehouse):
    name, disk = small_warehouse
    creator = stack.start_creator(name="full-warehouse-creator", retry_window=600)
    try:
        ballast = fill(disk, leave=0)
        order = stack.admin.post("/orders", {"recipe": RECIPE, "sd_card": {"size": 4, "type": "download"},
                                             "quantity": 1, "warehouse": name,
                                             "recipient": {"name": "Ada", "email": "ada@example.org",
                                                           "address": "1 Main St"}}).body
        wait_until(lambda: retry_logs(db, order["_id"], " full: ")
                   or pipeline_task(stack, order["_id"])["status"] in ("failed", "done"), timeout=90)
        time.sleep(10)  # full for a while: still trying, not failed
        task = pipeline_task(stack, order["_id"])
        assert task["status"] == "uploading", task.get("reason")
        said = retry_logs(db, order["_id"], " full: ")
        assert task["progress"]["step"].startswith("warehouse full, retry ")
        os.unlink(ballast)  # an ended order's folder goes
        done = order_in(stack, order["_id"], ("ready", "creation_failed"), timeout=120)
    finally:
        creator.stop()
    assert done["status"] == "ready", create_task_of(done).get("reason")
    needed, free = map(int, FULL.match(said[0]).groups())
    assert needed > 0 and free < needed, said[0]
    assert_no_order_stranded(db)
