"""Orders: placing, reading, canceling, shipping and deleting, with their history."""

import datetime
import urllib.parse

import bson
import pytest

from cardshop.states import ORDER
from cardshop.store.transitions import transition
from tests.conftest import order_body


@pytest.fixture
def manager(make_user, scheduler):
    from cardshop.client import ApiClient
    return ApiClient(scheduler.url, make_user("manager").access)


def test_placing_an_order_records_it_with_its_create_task(manager, warehouse):
    reply = manager.post("/orders", order_body())
    assert reply.status == 201
    order = reply.body
    assert order["status"] == "created" and order["warehouse"] == warehouse
    assert [entry["status"] for entry in order["statuses"]] == ["created"]
    assert len(order["_id"]) == 24
    fetched = manager.get(f"/orders/{order['_id']}").body
    assert [(task["kind"], task["status"]) for task in fetched["tasks"]] == [("create", "pending")]
    tasks = manager.get(f"/tasks?order={order['_id']}").body["items"]
    assert [task["_id"] for task in tasks] == [fetched["tasks"][0]["_id"]]


@pytest.mark.parametrize("changes, message", [
    ({"recipe": {"output": {"size": "5G"}}}, "do not fit a 4 GB card"),
    ({"recipe": {"output": {"size": "12Q"}}}, "recipe.output.size"),
    ({"recipe": {"output": {"size": "1G"}, "files": [{"to": "/etc/shadow", "content": "x"}]}}, "under /data"),
    ({"recipe": {"output": {"size": "1G"}, "files": [{"to": "/data/a", "url": "https://e.org/a",
                                                      "checksum": {"algo": "md4", "value": "00"}}]}},
     "unknown algorithm"),
    ({"sd_card": {"size": 4, "type": "download"}, "quantity": 3}, "quantity"),
    ({"warehouse": "nowhere"}, "no warehouse 'nowhere'"),
    ({"recipient": {"name": "A", "email": "not-an-email", "address": "x"}}, "recipient.email"),
    ({"quantity": 0}, "quantity"),
])
def test_bad_orders_are_refused_naming_the_field(manager, warehouse, changes, message):
    reply = manager.post("/orders", order_body(**changes))
    assert reply.status == 400
    assert message in reply.body["error"]


def test_orders_are_listed_newest_first_and_filtered_by_status(manager, warehouse):
    first = manager.post("/orders", order_body()).body
    second = manager.post("/orders", order_body()).body
    manager.post(f"/orders/{first['_id']}/cancel", {"reason": "customer changed their mind"})
    listed = manager.get("/orders?per_page=200").body["items"]
    ids = [order["_id"] for order in listed]
    assert ids.index(second["_id"]) < ids.index(first["_id"])
    canceled = manager.get("/orders?status=canceled&per_page=200").body["items"]
    assert first["_id"] in [o["_id"] for o in canceled] and second["_id"] not in [o["_id"] for o in canceled]
    both = manager.get("/orders?status=canceled,created&per_page=200").body["items"]
    assert {first["_id"], second["_id"]} <= {o["_id"] for o in both}
    assert manager.get("/orders?status=lost").status == 400


def test_orders_page_by_the_next_cursor_each_once_newest_first_even_years_apart(manager, warehouse, db):
    placed = [manager.post("/orders", order_body()).body["_id"] for _ in range(7)]
    # Older history as the API made it: copies of an order, years back, some in the same millisecond.
    model = db.orders.find_one({"_id": placed[0]})
    old = [{**model, "_id": str(bson.ObjectId()),
            "created_at": model["created_at"] - datetime.timedelta(days=700 + index // 2)} for index in range(6)]
    db.orders.insert_many(old)
    try:
        mine, seen, after = set(placed) | {order["_id"] for order in old}, [], None
        while True:
            reply = manager.get("/orders?" + urllib.parse.urlencode({"per_page": 3, **({"after": after} if after else {})}))
            assert reply.status == 200 and set(reply.body) == {"items", "per_page", "next"}, reply
            seen += [(datetime.datetime.fromisoformat(order["created_at"].replace("Z", "+00:00")), order["_id"])
                     for order in reply.body["items"]]
            after = reply.body["next"]
            if after is None:
                break
        assert len(seen) == len(set(seen)), "an order on two pages"
        assert seen == sorted(seen, reverse=True), "not newest first"
        assert not mine - {order_id for _, order_id in seen}, "an order on no page"
    finally:
        db.orders.delete_many({"_id": {"$in": [order["_id"] for order in old]}})


@pytest.mark.parametrize("after", ["", "x", "bm90IGpzb24", "WzEsMl0", "WyIyMDI1LTAxLTAxIiwiYWJjIl0", "a+b/c",
                                   "WyIyMDI1LTAxLTAxVDAwOjAwOjAwIiwiMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3Il0"])
def test_a_cursor_the_api_did_not_give_is_refused_naming_after(manager, after):
    # Not base64, not JSON, not [date, id], an id that is not one, a date without its time zone.
    for path in ("/orders", "/tasks"):
        reply = manager.get(f"{path}?" + urllib.parse.urlencode({"after": after}))
        assert reply.status == 400 and "'after'" in reply.body["error"], (path, after, reply)


def test_a_page_number_is_refused_with_the_parameters_that_page_a_history(manager):
    reply = manager.get("/orders?page=2")
    assert reply.status == 400 and "'page'" in reply.body["error"] and "after" in reply.body["error"]


def test_canceling_ends_the_order_and_its_tasks_with_history(manager, warehouse):
    order = manager.post("/orders", order_body()).body
    reply = manager.post(f"/orders/{order['_id']}/cancel", {"reason": "duplicate"})
    assert reply.status == 200 and reply.body["status"] == "canceled"
    last = reply.body["statuses"][-1]
    assert last["status"] == "canceled" and last["note"] == "duplicate" and last["by"]
    assert {task["status"] for task in reply.body["tasks"]} == {"canceled"}
    again = manager.post(f"/orders/{order['_id']}/cancel")
    assert again.status == 409 and "canceled" in again.body["error"]


def test_shipping_needs_pending_shipment_and_records_tracking(manager, warehouse, db):
    order = manager.post("/orders", order_body()).body
    early = manager.post(f"/orders/{order['_id']}/ship", {"carrier": "Post", "tracking_number": "X1"})
    assert early.status == 409
    for event in ("create_started", "create_done_physical", "write_started", "writes_done"):
        transition(db.orders, order["_id"], ORDER, event, "test")
    shipped = manager.post(f"/orders/{order['_id']}/ship", {"carrier": "Post", "tracking_number": "X1"})
    assert shipped.status == 200 and shipped.body["status"] == "shipped"
    assert shipped.body["shipment"]["tracking_number"] == "X1"
    assert [e["status"] for e in shipped.body["statuses"]] == [
        "created", "creating", "pending_writer", "writing", "pending_shipment", "shipped"]


def test_only_ended_orders_are_deleted(manager, warehouse):
    order = manager.post("/orders", order_body()).body
    live = manager.delete(f"/orders/{order['_id']}")
    assert live.status == 409 and "only ended orders" in live.body["error"]
    manager.post(f"/orders/{order['_id']}/cancel")
    assert manager.delete(f"/orders/{order['_id']}").status == 204
    assert manager.get(f"/orders/{order['_id']}").status == 404
    assert manager.get(f"/tasks?order={order['_id']}").body["items"] == []


def test_unknown_and_malformed_ids_get_404(manager):
    assert manager.get("/orders/0123456789abcdef01234567").status == 404
    reply = manager.get("/orders/not-an-id")
    assert reply.status == 404 and "24 hex digits" in reply.body["error"]
    assert manager.get("/tasks/zzz").status == 404
    assert manager.post("/orders/%24ne/cancel").status == 404


def test_concurrent_transitions_cannot_both_win(db, manager, warehouse):
    from cardshop.states import IllegalTransition
    order = manager.post("/orders", order_body()).body
    transition(db.orders, order["_id"], ORDER, "create_started", "one")
    with pytest.raises(IllegalTransition):
        transition(db.orders, order["_id"], ORDER, "create_started", "two")


def test_warehouses_are_managed_by_admins(admin, manager):
    created = admin.post("/warehouses", {"name": "spare", "upload_url": "ftps://store.example.org/",
                                         "download_url": "https://store.example.org/"})
    assert created.status in (201, 409)
    assert admin.post("/warehouses", {"name": "spare", "upload_url": "ftp://x/", "download_url": "ftp://x/"}).status == 409
    assert admin.post("/warehouses", {"name": "bad", "upload_url": "http://x/", "download_url": "ftp://x/"}).status == 400
    assert manager.get("/warehouses/spare").status == 200
    assert manager.patch("/warehouses/spare", {"default": True}).status == 403
    assert admin.patch("/warehouses/spare", {"download_url": "ftps://store.example.org/"}).status == 200
    assert admin.delete("/warehouses/spare").status == 204
    assert admin.get("/warehouses/spare").status == 404
