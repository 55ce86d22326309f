"""GET /orders?q=: a literal, case-insensitive search on the server, through an index: each word of the text
starts a term of the order (its id, the recipient's email, a word of their name, the tracking number, who
placed it)."""

import urllib.parse

import pytest

from cardshop.client import ApiClient
from cardshop.states import ORDER
from cardshop.store.transitions import transition
from tests.conftest import order_body, unique


@pytest.fixture
def manager(make_user, scheduler):
    user = make_user("manager")
    return user.username, ApiClient(scheduler.url, user.access)


def search(client, q, **more):
    reply = client.get("/orders?" + urllib.parse.urlencode({"q": q, **more}))
    assert reply.status == 200, reply
    return reply.body


def place(client, name, email="ada@example.org", address="1 Main St"):
    return client.post("/orders", order_body(recipient={"name": name, "email": email, "address": address})).body


def test_search_finds_orders_by_the_start_of_their_id_email_name_words_and_creator_ignoring_case(manager, warehouse):
    username, client = manager
    tag = unique("Needle")
    first = place(client, f"Grace {tag} Hopper")
    second = place(client, "Ada", email=f"{tag.lower()}@example.org", address=f"Rue {tag}, Paris")
    assert {order["_id"] for order in search(client, tag.upper())["items"]} == {first["_id"], second["_id"]}
    assert [order["_id"] for order in search(client, f"{tag.lower()}@example")["items"]] == [second["_id"]]
    assert [order["_id"] for order in search(client, f"hop {tag[:-1]}")["items"]] == [first["_id"]]
    assert len(search(client, f"Paris {tag}")["items"]) == 0, "the address is not searched"
    assert len(search(client, tag[2:])["items"]) == 0, "a term matches by its start only"
    assert len(search(client, username)["items"]) == 2
    assert [order["_id"] for order in search(client, first["_id"].upper())["items"]] == [first["_id"]]
    assert first["_id"] in {order["_id"] for order in search(client, first["_id"][:16], per_page=200)["items"]}
    assert len(search(client, first["_id"][4:])["items"]) == 0, "an id matches by its start only"
    client.post(f"/orders/{first['_id']}/cancel")
    assert [order["_id"] for order in search(client, tag, status="canceled")["items"]] == [first["_id"]]


def test_a_shipped_order_is_found_by_the_start_of_its_tracking_number(manager, warehouse, db):
    _, client = manager
    order = place(client, "Tracked Person")
    for event in ("create_started", "create_done_physical", "write_started", "writes_done"):
        transition(db.orders, order["_id"], ORDER, event, "test")  # the pipeline's part, through the store
    number = unique("1Z").upper()
    reply = client.post(f"/orders/{order['_id']}/ship", {"carrier": "UPS", "tracking_number": number})
    assert reply.status == 200, reply
    assert [found["_id"] for found in search(client, number.lower())["items"]] == [order["_id"]]
    assert [found["_id"] for found in search(client, f"{number[:5]} tracked")["items"]] == [order["_id"]]


def test_regex_metacharacters_are_taken_literally(manager, warehouse):
    _, client = manager
    tag = unique("Meta")
    odd = place(client, f"{tag} a.*b (c) [d] +e? \\f $g ^h |i {{2}}")
    plain = place(client, f"{tag} xyz")
    assert len(search(client, tag)["items"]) == 2
    assert len(search(client, f"{tag}.*")["items"]) == 0, "'.*' is not a wildcard"
    assert len(search(client, f"{tag} .")["items"]) == 0
    assert [order["_id"] for order in search(client, "a.*b (c) [d] +e? \\f $g ^h |i {2}")["items"]] == [odd["_id"]]
    for text in ("(", "[", "\\", "*", "+?", "a{2,1}", ".*", "^", "$"):
        found = search(client, text)
        assert plain["_id"] not in {order["_id"] for order in found["items"]}, text


def test_a_search_too_long_or_repeated_is_refused_naming_q(manager):
    _, client = manager
    reply = client.get("/orders?q=" + "x" * 101)
    assert reply.status == 400 and "'q'" in reply.body["error"]
    reply = client.get("/orders?q=a&q=b")
    assert reply.status == 400 and "'q'" in reply.body["error"]


def test_the_openapi_document_declares_the_search(api):
    document = api.get("/openapi.json").body
    parameters = {parameter["name"]: parameter for parameter in document["paths"]["/orders"]["get"]["parameters"]}
    assert parameters["q"]["in"] == "query" and parameters["q"]["schema"]["maxLength"] == 100


@pytest.mark.parametrize("text", ["\x00", "é\u2028ü", "\\Q", "(?i)", "\\", "a\nb", "%00", "'\""])
def test_odd_text_is_searched_without_error(manager, warehouse, text):
    _, client = manager
    assert len(search(client, text)["items"]) >= 0


def test_the_fields_an_order_is_searched_by_are_not_shown(manager, warehouse):
    _, client = manager
    order = place(client, unique("Hidden"))
    shown = [order, client.get(f"/orders/{order['_id']}").body, search(client, order["_id"])["items"][0],
             client.post(f"/orders/{order['_id']}/cancel").body]
    assert all(not {"search", "search_keys"} & set(each) for each in shown)
