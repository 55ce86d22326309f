"""The beat's compact_histories job: orders ended for good long ago keep their details, not every step."""

import datetime

from cardshop.beat.jobs import Context, compact_histories
from cardshop.states import ORDER, task_machine
from cardshop.store import now, orders, task_logs
from cardshop.store.transitions import transition

OLD = datetime.timedelta(days=91)


def ended_order(db, events, age=OLD):
    """An order taken through `events` (with a create task that ran and logged), last changed `age` ago."""
    order, create = orders.record_order(db, {"recipe": {"files": []}, "sd_card": {"size": 4, "type": "physical"},
                                             "quantity": 1, "warehouse": "main",
                                             "recipient": {"name": "Ada", "email": "a@example.org", "address": "x"}},
                                        "manager1", now())
    for status in ("received", "downloading", "building", "uploading", "done"):
        transition(db.tasks, create["_id"], task_machine("create"), status, "creator1")
    for seq in range(3):
        task_logs.insert(db, create["_id"], "1", seq, "info", f"step {seq}", now())
    for event in events:
        transition(db.orders, order["_id"], ORDER, event, "manager1")
    db.orders.update_one({"_id": order["_id"]}, {"$set": {"updated_at": now() - age}})
    return order["_id"], create["_id"]


def test_an_order_ended_long_ago_keeps_its_details_and_the_ends_of_its_histories(db):
    order_id, task_id = ended_order(db, ["create_started", "create_done_physical", "write_started", "writes_done",
                                         "ship"])
    recent_id, recent_task = ended_order(db, ["cancel"], age=datetime.timedelta(days=3))
    live_id, live_task = ended_order(db, ["create_started"])
    before = db.orders.find_one({"_id": order_id})

    summary = compact_histories(Context(db, publisher=None), after_days=90, limit=100000)

    order = db.orders.find_one({"_id": order_id})
    assert summary["orders"] >= 1 and summary["log_lines"] >= 3
    assert order["status"] == "shipped" and order["recipient"] == before["recipient"] and order["rev"] == before["rev"]
    assert order["statuses"] == [before["statuses"][0], before["statuses"][-1]]
    assert order["history_dropped"] == len(before["statuses"]) - 2 and order["compacted_at"]
    task = db.tasks.find_one({"_id": task_id})
    assert [entry["status"] for entry in task["statuses"]] == ["pending", "done"] and task["history_dropped"] == 4
    assert db.task_logs.count_documents({"task": task_id}) == 0
    for kept_order, kept_task in ((recent_id, recent_task), (live_id, live_task)):  # too recent, or not ended
        assert "compacted_at" not in db.orders.find_one({"_id": kept_order})
        assert db.task_logs.count_documents({"task": kept_task}) == 3
    compact_histories(Context(db, publisher=None), after_days=90, limit=100000)
    assert db.orders.find_one({"_id": order_id}) == order, "compacted once"


def test_no_transition_leaves_a_final_status(db):
    # Compaction keeps `rev` and shortens the history: sound only because nothing follows a final status.
    for status in ORDER.final:
        assert not ORDER.allowed(status), status
