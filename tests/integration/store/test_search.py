"""Order search on a real FerretDB: the terms an order is found by, the index that finds them (explained:
never a scan of the orders), and the one-off backfill of orders placed before the search fields existed."""

import pymongo
import pytest

from cardshop.store import ensure_indexes, now, orders, search
from cardshop.validation import short_id

SEEDED = 3000


def placed(name="Grace Brewster Hopper", email="Grace@Example.org", actor="ada", **more):
    fields = {"recipe": {}, "sd_card": {"size": 4, "type": "physical"}, "quantity": 1,
              "recipient": {"name": name, "email": email.lower(), "address": "1 Main St"}, "warehouse": "main", **more}
    return orders.new_order(fields, actor, now())[0]


@pytest.fixture(scope="module")
def db(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    database = client["unit_search"]
    for name in ("orders", "migrations"):
        database.drop_collection(name)
    ensure_indexes(database)
    database.orders.insert_many([placed(f"Person{number} Surname{number % 97}", f"user{number}@example.org")
                                 for number in range(SEEDED)])
    yield database
    client.close()


def found(db, text, **more):
    return {order["_id"] for order in db.orders.find({**search.matching(text), **more}, {"_id": 1})}


def test_an_order_is_found_by_its_id_email_name_words_creator_and_tracking_number_lowercased():
    order = placed()
    assert order["search"] == sorted([order["_id"], order["_id"][-8:], "grace@example.org", "grace", "brewster",
                                      "hopper", "ada"])
    shipped = orders.searchable(order, shipment={"carrier": "UPS", "tracking_number": "1Z999AA1"})
    assert "1z999aa1" in shipped["search"] and {"1", "1z", "1z999aa1"} <= set(shipped["search_keys"])
    assert {len(key) for key in order["search_keys"]} == {1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 24}  # the id: 24
    assert {"grace@example.org"[:length] for length in (8, 12, 16)} <= set(order["search_keys"])


def test_each_word_of_the_text_must_start_a_term_short_or_long(db):
    order = placed(name="Grace Hopper", email="admiral.cobol@navy.example")
    db.orders.insert_one(order)
    assert found(db, "GRA hop") >= {order["_id"]}
    assert found(db, "admiral.cobol@navy") == found(db, order["_id"][:20]) == {order["_id"]}
    assert found(db, "admiral.cobol@army") == set(), "a long word is checked whole, not only its first characters"
    assert found(db, "admiral.cobol@navy.example") == {order["_id"]}, "the whole term, by its 24-character key"
    assert found(db, "cobol") == set(), "a term is matched by its start only"
    assert order["_id"] not in found(db, "grace lovelace")


def test_every_search_reads_the_orders_through_the_search_index(db):
    for text in ("user12", "user1234@example.org", "surname5 person1", "zzz", "a"):
        for more in ({}, {"status": {"$in": ["created", "canceled"]}}):
            command = {"find": "orders", "filter": {**search.matching(text), **more},
                       "sort": {"created_at": -1, "_id": -1}, "limit": 50}
            plan = db.command({"explain": command, "verbosity": "queryPlanner"})["queryPlanner"]["Plan"]
            nodes = _nodes(plan)
            assert "search_keys_1" in {node.get("Index Name") for node in nodes}, (text, more, nodes)
            assert "Seq Scan" not in {node["Node Type"] for node in nodes}, (text, more, nodes)


def _nodes(plan):
    return [plan] + [node for child in plan.get("Plans", []) for node in _nodes(child)]


def test_an_order_is_found_by_the_short_id_the_pages_show(db):
    order = placed(name="Short Id")
    db.orders.insert_one(order)
    assert short_id(order["_id"]) == order["_id"][-8:]
    assert found(db, short_id(order["_id"])) == {order["_id"]}
    assert found(db, short_id(order["_id"])[:5]) >= {order["_id"]}


def test_orders_searched_by_older_terms_get_the_current_ones_once(db):
    before = placed(name="Before Short")
    before["search"] = [term for term in before["search"] if term != before["_id"][-8:]]
    before["search_keys"] = search.keys(before["search"])
    db.orders.insert_one(before)
    db.migrations.delete_many({"_id": orders.SEARCH_BACKFILL})
    assert found(db, before["_id"][-8:]) == set()
    assert orders.backfill_search(db) >= 1
    assert found(db, before["_id"][-8:]) == {before["_id"]}
    assert orders.backfill_search(db) == 0
    db.migrations.delete_many({"_id": orders.SEARCH_BACKFILL})  # the next test walks from the start


def test_orders_placed_before_the_search_fields_get_them_once_in_batches(db):
    old = [placed(f"Old{number} Customer") for number in range(7)]
    for order in old:
        del order["search"], order["search_keys"]
    db.orders.insert_many(old)
    assert found(db, "old3") == set()
    assert orders.backfill_search(db, batch=2) == 7
    assert found(db, "old3 cust") == {old[3]["_id"]}
    assert db.migrations.find_one({"_id": orders.SEARCH_BACKFILL})["filled"] == 7
    late = placed("Older Still")
    del late["search"], late["search_keys"]
    db.orders.insert_one(late)
    assert orders.backfill_search(db) == 0, "once complete, the walk is not made again"
