"""Bad input on every route gets a clear 4xx JSON error, never a 500.

The routes come from the live /openapi.json, so a new route is covered the
day it is declared.
"""

import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from cardshop.client import ApiClient
from tests.conftest import unique

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def operations(scheduler):
    document = ApiClient(scheduler.url).get("/openapi.json").body
    found = []
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            found.append((method.upper(), path, "application/json" in content,
                          "application/x-www-form-urlencoded" in content))
    return found


@pytest.fixture(scope="module")
def victim(scheduler, admin_token):
    """A user whose name fills {username}, so that no test changes the admin."""
    username = unique("victim")
    ApiClient(scheduler.url, admin_token).post("/users", {
        "username": username, "email": f"{username}@example.org", "password": "victim password",
        "role": "writer"})
    return username


def fresh_admin(scheduler):
    """A token of its own: some routes (logout) end the session that calls them."""
    pair = ApiClient(scheduler.url).post("/auth/authorize", scheduler.admin).body
    return ApiClient(scheduler.url, pair["access_token"])


def fill(path, victim, id_value="0123456789abcdef01234567"):
    return (path.replace("{id}", id_value).replace("{username}", victim).replace("{name}", "main"))


def assert_json_error(reply, *statuses):
    assert reply.status in statuses, reply
    assert isinstance(reply.body, dict) and reply.body.get("error"), reply


BAD_BODIES = [
    (b'{"username": ', "not valid JSON"),
    (b"\xff\xfe garbage", "not valid JSON"),
    (b"[1, 2, 3]", "expected object"),
    (b'"a string"', "expected object"),
    (b"42", "expected object"),
    (json.dumps({"definitely_unknown_field": 1}).encode(), ""),
]


@pytest.mark.parametrize("raw, message", BAD_BODIES)
def test_malformed_or_ill_shaped_json_gets_400(scheduler, operations, victim, raw, message):
    admin = fresh_admin(scheduler)
    for method, path, takes_json, _ in operations:
        if not takes_json:
            continue
        reply = admin.request(method, fill(path, victim), data=raw, headers={"Content-Type": "application/json"})
        assert_json_error(reply, 400)
        assert message in reply.body["error"], (method, path, reply.body)


def test_unknown_fields_are_named(admin, warehouse):
    reply = admin.post("/users", {"username": "abc", "email": "a@b.cd", "password": "12345678",
                                  "role": "writer", "is_admin": True})
    assert_json_error(reply, 400)
    assert reply.body["error"] == "unknown field 'is_admin'"


def test_wrong_types_are_named(admin, warehouse):
    reply = admin.post("/orders", {"recipe": {"output": {"size": "1G"}}, "sd_card": {"size": "4", "type": "physical"},
                                   "quantity": 1, "recipient": {"name": "a", "email": "a@b.cd", "address": "x"}})
    assert_json_error(reply, 400)
    assert "sd_card.size" in reply.body["error"] and "integer" in reply.body["error"]


def test_a_two_mib_body_gets_413_on_every_route_that_takes_one(scheduler, operations, victim):
    admin = fresh_admin(scheduler)
    big = b'{"pad": "' + b"x" * (2 * MIB) + b'"}'
    for method, path, takes_json, takes_form in operations:
        if takes_json:
            reply = admin.request(method, fill(path, victim), data=big, headers={"Content-Type": "application/json"})
            assert_json_error(reply, 413)
        elif takes_form:
            reply = admin.request(method, path, data=b"username=" + b"x" * (2 * MIB),
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert reply.status == 200 and reply.body == "deny"


def test_non_object_ids_get_404_on_every_route_with_an_id(scheduler, operations, victim):
    admin = fresh_admin(scheduler)
    for method, path, takes_json, _ in operations:
        if "{id}" not in path:
            continue
        for bad in ("123", "not-an-id", "%7B%22%24ne%22%3A1%7D", "0123456789abcdef0123456z"):
            reply = admin.request(method, fill(path, victim, bad), data=b"{}" if takes_json else None)
            assert_json_error(reply, 404)


def test_unknown_query_parameters_and_bad_values_get_400(admin):
    assert_json_error(admin.get("/orders?sort=$where"), 400)
    assert_json_error(admin.get("/orders?page=zero"), 400)
    assert_json_error(admin.get("/orders?page=0"), 400)
    assert_json_error(admin.get("/orders?per_page=100000"), 400)
    assert_json_error(admin.get("/tasks?order[$ne]=x"), 400)
    assert_json_error(admin.get("/tasks?status=bogus"), 400)


def test_unknown_routes_and_methods_get_json_404_and_405(admin):
    assert_json_error(admin.get("/no/such/route"), 404)
    reply = admin.request("PUT", "/orders")
    assert_json_error(reply, 405)


def test_rabbitmq_routes_deny_on_any_nonsense(api):
    for path in ("/auth/rabbitmq/user", "/auth/rabbitmq/vhost", "/auth/rabbitmq/resource", "/auth/rabbitmq/topic"):
        for data in (b"", b"username=admin", b"%%%&&&==", b"username[$ne]=x&password[$ne]=y", b"\xff\xfe"):
            reply = api.request("POST", path, data=data, headers={"Content-Type": "application/x-www-form-urlencoded"})
            assert reply.status == 200 and reply.body == "deny", (path, data, reply)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.dictionaries(st.sampled_from(["username", "password", "email", "role", "recipe", "sd_card",
                                             "quantity", "recipient", "refresh_token", "name", "active",
                                             "upload_url", "download_url", "carrier", "tracking_number",
                                             "$where", "reason"]), JSON_VALUES, max_size=6))
def test_random_json_never_gets_a_server_error(scheduler, operations, victim, body):
    admin = fresh_admin(scheduler)
    for method, path, takes_json, _ in operations:
        if takes_json:
            reply = admin.request(method, fill(path, victim), body)
            assert reply.status < 500, (method, path, body, reply)
