"""The one function that changes a status: checked against the table, versioned, with its history
(on a real FerretDB, as everywhere)."""

import pymongo
import pytest

from cardshop.states import IllegalTransition
from cardshop.states.orders import ORDER
from cardshop.store import new_id, now
from cardshop.store.commits import claim
from cardshop.store.transitions import initial_history, transition


@pytest.fixture
def orders(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    yield client["unit_store"]["orders"]
    client.close()


def placed(orders, **fields):
    doc = {"_id": new_id(), "status": ORDER.initial, "rev": 0,
           "statuses": initial_history(ORDER, "ada", now()), **fields}
    orders.insert_one(doc)
    return doc["_id"]


def test_an_allowed_event_moves_the_status_and_appends_who_did_it_and_why(orders):
    order_id = placed(orders)
    done = transition(orders, order_id, ORDER, "create_started", "monitor", note="task taken", extra={"x": 1})
    stored = orders.find_one({"_id": order_id})
    assert done["status"] == stored["status"] == "creating"
    assert stored["rev"] == 1 and stored["x"] == 1
    assert [(s["status"], s["event"], s["by"]) for s in stored["statuses"]] == [
        ("created", "created", "ada"), ("creating", "create_started", "monitor")]
    assert stored["statuses"][1]["note"] == "task taken"


def test_an_event_the_status_does_not_allow_is_refused_and_changes_nothing(orders):
    order_id = placed(orders)
    with pytest.raises(IllegalTransition, match="'created' does not allow 'ship'"):
        transition(orders, order_id, ORDER, "ship", "admin")
    stored = orders.find_one({"_id": order_id})
    assert stored["status"] == "created" and stored["rev"] == 0 and len(stored["statuses"]) == 1


def test_a_missing_document_gives_none(orders):
    assert transition(orders, new_id(), ORDER, "cancel", "admin") is None


def test_a_guard_that_does_not_hold_changes_nothing(orders):
    order_id = placed(orders, kind="download")
    assert transition(orders, order_id, ORDER, "cancel", "admin", guard={"kind": "physical"}) is None
    assert orders.find_one({"_id": order_id})["status"] == "created"


def test_a_change_won_but_never_written_is_finished_by_the_next_caller(orders):
    order_id = placed(orders)
    # A writer claimed version 1 and died before writing it.
    moment = now()
    assert claim(orders.database, f"orders/{order_id}/1", {
        "changes": {"status": "creating", "updated_at": moment},
        "entry": {"status": "creating", "event": "create_started", "at": moment, "by": "dead monitor"}})
    done = transition(orders, order_id, ORDER, "create_done_download", "monitor")
    assert done["status"] == "ready" and done["rev"] == 2
    assert [s["by"] for s in orders.find_one({"_id": order_id})["statuses"]] == ["ada", "dead monitor", "monitor"]


def test_the_event_is_checked_again_against_the_status_a_lost_race_left(orders):
    order_id = placed(orders)
    moment = now()
    claim(orders.database, f"orders/{order_id}/1", {
        "changes": {"status": "canceled", "updated_at": moment},
        "entry": {"status": "canceled", "event": "cancel", "at": moment, "by": "admin"}})
    with pytest.raises(IllegalTransition, match="'canceled' does not allow 'create_started'"):
        transition(orders, order_id, ORDER, "create_started", "monitor")
    assert orders.find_one({"_id": order_id})["status"] == "canceled"


def test_a_document_without_a_version_counts_its_history(orders):
    order_id = placed(orders)
    orders.update_one({"_id": order_id}, {"$unset": {"rev": ""}})
    assert transition(orders, order_id, ORDER, "cancel", "admin")["rev"] == 1
    assert orders.find_one({"_id": order_id})["rev"] == 1
