"""Order counts by status, in one call, for dashboards, from counters kept with each change."""

from cardshop.client import ApiClient
from cardshop.states import ORDER
from cardshop.store import orders
from tests.conftest import order_body


def test_orders_are_counted_by_status(admin, warehouse):
    before = admin.get("/stats/orders").body
    assert set(before["by_status"]) == set(ORDER.statuses)
    placed = [admin.post("/orders", order_body()).body["_id"] for _ in range(3)]
    admin.post(f"/orders/{placed[0]}/cancel")
    after = admin.get("/stats/orders").body
    assert after["by_status"]["created"] - before["by_status"]["created"] == 2
    assert after["by_status"]["canceled"] - before["by_status"]["canceled"] == 1
    assert after["total"] - before["total"] == 3 == sum(after["by_status"].values()) - sum(before["by_status"].values())


def test_the_counts_equal_the_orders_in_each_status_after_placing_canceling_and_deleting(admin, warehouse, db):
    orders.recount(db, settle=0)  # other tests write orders straight into the database, past the counters
    placed = [admin.post("/orders", order_body()).body["_id"] for _ in range(4)]
    for order_id in placed[:3]:
        assert admin.post(f"/orders/{order_id}/cancel").status == 200
    assert admin.post(f"/orders/{placed[0]}/cancel").status == 409  # refused: counted once
    assert admin.delete(f"/orders/{placed[1]}").status == 204
    counts = admin.get("/stats/orders").body
    assert counts["by_status"] == {status: db.orders.count_documents({"status": status})
                                   for status in sorted(ORDER.statuses)}
    assert counts["total"] == sum(counts["by_status"].values())


def test_workers_cannot_count_orders(make_user, scheduler):
    assert ApiClient(scheduler.url, make_user("creator").access).get("/stats/orders").status == 403
