"""Order totals by status from counters moved with each change (on a real FerretDB): each transition counted
once however many callers race or replay it, and the beat's recount repairing a counter a crash left off."""

import concurrent.futures
import random
import threading

import pymongo
import pytest

from cardshop.beat.jobs import Context, recount_orders
from cardshop.states import ORDER, IllegalTransition
from cardshop.store import counters, monitor_stats, now, orders
from cardshop.store.commits import claim
from cardshop.store.transitions import ConcurrentChange, _catch_up, transition
from cardshop.scheduler.metrics import ShopCollector

THREADS = 8


@pytest.fixture
def db(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    database = client["unit_counters"]
    for name in ("orders", "tasks", "commits", "counters", "monitor_stats"):
        database.drop_collection(name)
    assert sum(orders.count_by_status(database).values()) == 0  # counted once, empty: from now on only moved
    yield database
    client.close()


def place(db, count):
    fields = {"recipe": {}, "sd_card": {"size": 4, "type": "physical"}, "quantity": 1,
              "recipient": {"name": "Ada Lovelace", "email": "ada@example.org", "address": "-"}, "warehouse": "main"}
    return [orders.record_order(db, fields, "ada", now())[0]["_id"] for _ in range(count)]


def counted(db):
    return {status: db.orders.count_documents({"status": status}) for status in sorted(ORDER.statuses)}


def attempt(db, order_id, event):
    try:
        return transition(db.orders, order_id, ORDER, event, "racer", attempts=20) is not None
    except (IllegalTransition, ConcurrentChange):
        return False


def test_orders_placed_are_counted_in_their_first_status_and_deleted_ones_no_more(db):
    placed = place(db, 3)
    assert orders.count_by_status(db)["created"] == 3
    transition(db.orders, placed[0], ORDER, "cancel", "ada")
    orders.delete_ended(db, placed[0], "canceled")
    orders.delete_ended(db, placed[0], "canceled")  # a second delete finds nothing and counts nothing
    assert orders.count_by_status(db) == counted(db)
    assert orders.count_by_status(db)["created"] == 2 and orders.count_by_status(db)["canceled"] == 0


def test_concurrent_callers_doing_the_same_transitions_count_each_once(db):
    placed = place(db, 12)
    path = ["create_started", "create_done_physical", "write_started", "writer_moved", "writes_done", "ship"]
    start = threading.Barrier(THREADS)

    def race(seed):
        rng = random.Random(seed)
        for order_id in placed:
            for event in path:
                start.wait()  # every caller tries the same event on the same order at once
                if rng.random() < 0.01:
                    event = "cancel"
                attempt(db, order_id, event)

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(race, range(THREADS)))
    moves = sum(len(doc["statuses"]) - 1 for doc in db.orders.find({}, {"statuses": 1}))
    assert moves >= len(placed) * 2, "the race made transitions"
    assert orders.count_by_status(db) == counted(db)
    assert sum(orders.count_by_status(db).values()) == len(placed)


def test_failing_and_retrying_over_and_over_concurrently_keeps_the_counters_exact(db):
    placed = place(db, 5)

    def churn(seed):
        rng = random.Random(seed)
        for _ in range(30):
            attempt(db, rng.choice(placed), rng.choice(["create_failed", "retry", "create_started"]))

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(churn, range(THREADS)))
    assert orders.count_by_status(db) == counted(db)


def test_a_change_won_but_never_written_is_counted_once_by_those_who_finish_it(db):
    [order_id] = place(db, 1)
    moment = now()  # a caller claimed version 1 and died before writing it
    assert claim(db, f"orders/{order_id}/1", {
        "changes": {"status": "creating", "updated_at": moment},
        "entry": {"status": "creating", "event": "create_started", "at": moment, "by": "dead monitor"}})
    stale = db.orders.find_one({"_id": order_id})
    start = threading.Barrier(THREADS)

    def finish(_):
        start.wait()  # many callers find it ahead of the document they read, at once, and write it
        _catch_up(db.orders, stale)

    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(finish, range(THREADS)))
    assert attempt(db, order_id, "create_done_download")
    assert db.orders.find_one({"_id": order_id})["status"] == "ready"
    assert orders.count_by_status(db) == counted(db)
    assert orders.count_by_status(db)["ready"] == 1 and orders.count_by_status(db)["creating"] == 0


def test_the_beat_corrects_a_counter_a_lost_increment_left_off_and_says_so(db, caplog):
    place(db, 4)
    assert orders.count_by_status(db) == counted(db)
    db.counters.update_one({"_id": "orders:created"}, {"$inc": {"n": -1}})  # died before its $inc
    db.counters.update_one({"_id": "orders:canceled"}, {"$inc": {"n": 2}}, upsert=True)  # made from nothing
    assert orders.count_by_status(db)["created"] == 3
    summary = recount_orders(Context(db, publisher=None), settle=0)
    assert summary == {"corrected": {"canceled": "2 -> 0", "created": "3 -> 4"}}
    assert "orders counters corrected" in caplog.text and "created 3 -> 4" in caplog.text
    assert orders.count_by_status(db) == counted(db)
    assert recount_orders(Context(db, publisher=None), settle=0) == {"corrected": {}}


def test_a_counter_moving_while_it_is_recounted_is_left_for_next_time(db):
    place(db, 2)
    db.counters.update_one({"_id": "orders:created"}, {"$set": {"n": 7}})
    # The counter changes between the two looks (an increment landing): nothing is overwritten.
    assert counters._set(db, "orders", "created", 6, 2) is False
    assert db.counters.find_one({"_id": "orders:created"})["n"] == 7


def test_a_database_without_counters_is_counted_on_first_use(db):
    place(db, 3)
    db.orders.insert_one({"_id": "from-an-older-version", "status": "shipped"})
    db.drop_collection("counters")
    place(db, 1)  # a counter made before any recount holds only what came after
    assert orders.count_by_status(db) == counted(db)
    assert orders.count_by_status(db)["created"] == 4 and orders.count_by_status(db)["shipped"] == 1


def test_drops_saved_by_concurrent_monitors_into_a_missing_document_are_all_counted(db):
    """Two monitors (one stopping, one starting) may save their first drops at once: none is lost."""
    with concurrent.futures.ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(lambda _: monitor_stats.add_drops(db, {"refused": 1, "malformed": 2}, now()), range(4 * THREADS)))
    assert db.monitor_stats.find_one({"_id": monitor_stats.DROPPED})["counts"] == {
        "refused": 4 * THREADS, "malformed": 8 * THREADS}


def test_a_card_listed_twice_is_counted_once(db):
    (order_id,) = place(db, 1)
    before = counters.value(db, "cards", "written")
    card = {"task": "0123456789abcdef01234567", "host": "rack-1", "slot": 1, "serial": "0x1", "size": 4 * 10 ** 9, "at": now()}
    for _ in range(3):  # a replayed cascade lists the same card again
        orders.add_card(db, order_id, card)
    assert counters.value(db, "cards", "written") == before + 1
    # The metrics read it as it is: a first scrape does not "recount" it from a collection (there is none).
    samples = {sample.name: sample.value for family in ShopCollector(db).collect() for sample in family.samples}
    assert samples["cardshop_cards_written_total"] == before + 1
    assert len(orders.find(db, order_id)["cards"]) == 1
