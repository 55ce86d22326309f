"""Order counts by status, in one call, for dashboards."""

from cardshop.client import ApiClient
from cardshop.states import ORDER
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


def test_workers_cannot_count_orders(make_user, scheduler):
    assert ApiClient(scheduler.url, make_user("creator").access).get("/stats/orders").status == 403
