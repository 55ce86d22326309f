"""Writer hosts: slot heartbeats checked and shown per host, and an order's cards placed on one host."""

from devstack.processes import wait_until
from tests.integration.conftest import dropped
from tests.integration.pipeline.test_monitor import order_of
from tests.integration.security.writer_host import (WriterHost, only_these_writers, order_waiting_for_writers,
                                                    write_tasks)


def shown(pipeline, name):
    return pipeline.admin.get(f"/workers/{name}")


def test_slot_heartbeats_are_shown_per_host_and_malformed_or_foreign_ones_dropped(pipeline, pipeline_db, hostile):
    host = WriterHost(hostile("writer"), "rack-1")
    task, order = "a" * 24, "b" * 24
    host.slot(1, "ready", message="card of 4 GB")
    host.slot(2, "busy", task=task, order=order, step="writing", percent=42.5, rate=38e6,
              card={"size": 16 * 10 ** 9, "serial": "0x1234"})
    view = wait_until(lambda: (lambda body: len(body.get("slot_states", [])) == 2 and body)(
        shown(pipeline, host.name).body))
    assert view["host"] == "rack-1" and view["role"] == "writer" and view["slots"] == 2 and view["online"]
    one, two = view["slot_states"]
    assert (one["number"], one["state"], one["message"]) == (1, "ready", "card of 4 GB")
    assert (two["number"], two["state"], two["task"], two["order"], two["step"], two["percent"], two["rate"]) == (
        2, "busy", task, order, "writing", 42.5, 38e6)
    assert two["card"] == {"size": 16 * 10 ** 9, "serial": "0x1234"} and two["last_seen"]
    listed = pipeline.admin.get("/workers?per_page=200").body["items"]
    assert [item["_id"] for item in listed].count(host.name) == 1
    assert not [item for item in listed if item["_id"].startswith(f"{host.name}.slot-")]
    assert shown(pipeline, f"{host.name}.slot-2").body["slot"]["task"] == task  # one slot worker, as stored

    creator = hostile("creator")
    before = dropped(pipeline_db, "malformed", "refused")
    bad = [
        {"number": 3, "state": "writing"},  # not a state
        {"number": 3, "state": "ready", "message": "x" * 501},
        {"number": 3, "state": "busy", "task": {"$ne": None}},
        {"number": 3, "state": "busy", "percent": 140},
        {"number": 3, "state": "ready", "card": {"size": 2 ** 60}},
        {"number": 3, "state": "ready", "owner": "me"},
    ]
    for slot in bad:
        host.account.heartbeat(worker=f"{host.name}.slot-3", slot=slot)
    host.account.heartbeat(worker=f"{host.name}.slot-4", slot={"number": 3, "state": "ready"})  # not its name
    creator.heartbeat(worker=f"{creator.username}@rack-1.slot-1", slot={"number": 1, "state": "ready"})
    wait_until(lambda: dropped(pipeline_db, "malformed", "refused") >= before + len(bad) + 2, timeout=20)
    host.slot(1, "empty")  # the monitor goes on
    wait_until(lambda: shown(pipeline, host.name).body["slot_states"][0]["state"] == "empty")
    assert len(shown(pipeline, host.name).body["slot_states"]) == 2
    assert shown(pipeline, f"{creator.username}@rack-1").status == 404
    assert shown(pipeline, f"{creator.username}@rack-1.slot-1").status == 404


def test_an_orders_write_tasks_all_go_to_the_host_holding_its_image_else_to_the_most_free(
        pipeline, pipeline_db, hostile):
    creator = hostile("creator")
    big, small = WriterHost(hostile("writer"), "big"), WriterHost(hostile("writer"), "small")
    only_these_writers(pipeline_db, big, small)
    big.slots("ready", "ready", "empty", "busy")  # 3 free
    small.slots("ready", "failed")  # 1 free

    def small_holds_the_image(order):
        small.images = [order["_id"]]
        small.slot(1, "ready")
        wait_until(lambda: order["_id"] in shown(pipeline, small.name).body.get("images", []))
    cached = order_waiting_for_writers(pipeline, creator, quantity=3, before_done=small_holds_the_image)
    assert {task["writer"] for task in write_tasks(cached)} == {small.username}
    fresh = order_waiting_for_writers(pipeline, creator, quantity=3)
    assert {task["writer"] for task in write_tasks(fresh)} == {big.username}
    wait_until(lambda: all(task["published_at"] for task in write_tasks(order_of(pipeline, fresh["_id"]))))


def test_more_tasks_of_an_order_stay_on_its_live_host(pipeline, pipeline_db, hostile):
    """Retries and repairs of an order's write tasks follow its live tasks, whatever host is freer now."""
    creator = hostile("creator")
    first, second = WriterHost(hostile("writer"), "one"), WriterHost(hostile("writer"), "two")
    only_these_writers(pipeline_db, first, second)
    first.slots("ready")
    order = order_waiting_for_writers(pipeline, creator, quantity=2)
    assert {task["writer"] for task in write_tasks(order)} == {first.username}
    second.slots("ready", "ready", "ready")  # now the freest host: the order's next task stays on the first
    from cardshop.domain.placement import Placement  # (inside: so that the other tests run on older code)
    assert Placement(pipeline_db).writer_for(order["_id"]) == first.username
