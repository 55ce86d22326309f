"""The beat's reconciliation finds orders that nothing moves on any more, and repairs them."""

import datetime

from cardshop.beat.invariant import UNFINISHED, stranded_orders
from cardshop.store import now
from cardshop.store.orders import record_order
from devstack.processes import wait_until
from tests.integration.faults.conftest import assert_no_order_stranded, schedule


def plant(db, card_type, status, quantity=1):
    """An order written straight into the database, an hour old, in `status`; returns (order, its create task)."""
    an_hour_ago = now() - datetime.timedelta(hours=1)
    order, task = record_order(db, {
        "recipe": {"output": {"size": "64M"}, "files": [{"to": "/data/x.txt", "content": "x"}]},
        "sd_card": {"size": 4, "type": card_type}, "quantity": quantity, "warehouse": "main",
        "recipient": {"name": "Ada", "email": "ada@example.org", "address": "1 Main St"}}, "test", an_hour_ago)
    db.orders.update_one({"_id": order["_id"]}, {"$set": {"status": status}})
    return order, task


def logged(server, needle):
    with open(server.process.log_path, errors="replace") as handle:
        return needle in handle.read()


def test_stranded_orders_are_found_repaired_and_the_repair_is_logged(stack, db, beat):
    lost_writes, created = plant(db, "physical", "pending_writer", quantity=2)
    db.tasks.update_one({"_id": created["_id"]}, {"$set": {"status": "done", "result": {"files": {}}}})
    lost_task, gone = plant(db, "download", "creating")
    db.tasks.delete_one({"_id": gone["_id"]})
    found = {order["_id"]: why for order, why in stranded_orders(db, statuses=UNFINISHED)}
    assert found[lost_writes["_id"]] == "pending_writer with no live write task"
    assert found[lost_task["_id"]] == "creating with no live create task"

    schedule(stack, "reconcile", every=2, params={"older_than": 60, "max_attempts": 3})
    wait_until(lambda: logged(beat, f"reconcile: order {lost_writes['_id']} was pending_writer with no live "
                                    "write task; created write tasks"), timeout=60)
    wait_until(lambda: logged(beat, f"reconcile: order {lost_task['_id']} was creating with no live create task; "
                                    "created and published create task"), timeout=30)
    assert db.tasks.count_documents({"order": lost_writes["_id"], "kind": "write"}) == 2
    assert db.tasks.count_documents({"order": lost_task["_id"], "kind": "create"}) == 1
    assert_no_order_stranded(db)
