"""The beat's prune_commits job: compare-and-set records go once their change is in place, never before."""

import datetime

from cardshop.beat.jobs import Context, prune_commits
from cardshop.states import ORDER
from cardshop.store import commits, new_id, now
from cardshop.store.transitions import transition

DAY = datetime.timedelta(days=1, minutes=1)


def aged(db, key):
    """Make the record `key` a day old, as a shop's history is."""
    db.commits.update_one({"_id": key}, {"$set": {"at": now() - DAY}})


def test_applied_versions_and_ended_takeovers_go_pending_ones_and_fresh_ones_stay(db):
    order_id = new_id()
    db.orders.insert_one({"_id": order_id, "status": ORDER.initial, "rev": 0, "statuses": [{"status": "created"}]})
    transition(db.orders, order_id, ORDER, "create_started", "test")  # version 1, applied
    aged(db, f"orders/{order_id}/1")
    commits.claim(db, f"orders/{order_id}/2", {"changes": {"status": "ready"}, "entry": {}})  # won, not applied
    aged(db, f"orders/{order_id}/2")
    gone_order = f"orders/{new_id()}/1"  # its document was deleted
    commits.claim(db, gone_order, {"changes": {}, "entry": {}})
    aged(db, gone_order)

    task_id = new_id()
    db.tasks.insert_one({"_id": task_id, "run": "run-2"})
    commits.claim(db, f"tasks/{task_id}/after-run/run-1", {"run": "run-2"})  # run-2 holds it now
    commits.claim(db, f"tasks/{task_id}/after-run/run-2", {"run": "run-3"})  # not applied yet
    for key in (f"tasks/{task_id}/after-run/run-1", f"tasks/{task_id}/after-run/run-2"):
        aged(db, key)
    commits.claim(db, "refresh_tokens/" + "d" * 64)
    aged(db, "refresh_tokens/" + "d" * 64)
    fresh = f"orders/{order_id}/0"
    commits.claim(db, fresh, {"changes": {}, "entry": {}})  # applied, but less than a day old

    summary = prune_commits(Context(db, publisher=None), older_than=86400, limit=100000)

    assert summary["deleted"] >= 4
    left = {doc["_id"] for doc in db.commits.find({"_id": {"$in": [
        f"orders/{order_id}/1", f"orders/{order_id}/2", gone_order, f"tasks/{task_id}/after-run/run-1",
        f"tasks/{task_id}/after-run/run-2", "refresh_tokens/" + "d" * 64, fresh]}})}
    assert left == {f"orders/{order_id}/2", f"tasks/{task_id}/after-run/run-2", fresh}
    # What was kept still repairs the order: the next transition applies version 2 first.
    assert transition(db.orders, order_id, ORDER, "cancel", "test")["rev"] == 3


def test_one_run_deletes_at_most_its_limit(db):
    keys = [f"orders/{new_id()}/1" for _ in range(30)]
    for key in keys:
        commits.claim(db, key, {"changes": {}, "entry": {}})
        aged(db, key)
    summary = prune_commits(Context(db, publisher=None), older_than=86400, limit=10)
    assert summary["deleted"] <= 10
    assert db.commits.count_documents({"_id": {"$in": keys}}) >= 20
    while prune_commits(Context(db, publisher=None), older_than=86400, limit=10)["deleted"]:
        pass  # later runs take the rest
    assert db.commits.count_documents({"_id": {"$in": keys}}) == 0
