"""Malformed bodies get a 4xx naming what is wrong, never a 500."""

import json

import pytest

from tests.conftest import order_body


def _nested_order(depth):
    text = json.dumps(order_body(recipient={"name": "NESTED", "email": "a@b.org", "address": "x"}))
    return text.replace('"NESTED"', "[" * depth + '"x"' + "]" * depth).encode()


@pytest.mark.parametrize("data, message", [
    (b"[" * 100000, "nested more than"),
    (_nested_order(5000), "nested more than"),
    (b'{"quantity": 1, "quantity": 2}', "more than once"),
    (json.dumps(order_body(recipient={"name": "\ud800", "email": "a@b.org", "address": "x"})).encode(),
     "lone surrogate"),
], ids=["100000-brackets", "depth-5000-in-an-order", "duplicate-keys", "lone-surrogate"])
def test_malformed_order_bodies_get_400(admin, warehouse, data, message):
    reply = admin.request("POST", "/orders", data=data, headers={"Content-Type": "application/json"})
    assert reply.status == 400 and message in reply.error, reply


def test_a_lone_surrogate_in_a_login_gets_400(api):
    reply = api.request("POST", "/auth/authorize", data=b'{"username": "admin", "password": "\\udc00abcdefgh"}',
                        headers={"Content-Type": "application/json"})
    assert reply.status == 400 and "lone surrogate" in reply.error, reply


def test_a_text_plain_body_gets_415(admin, warehouse):
    reply = admin.request("POST", "/orders", data=json.dumps(order_body()).encode(),
                          headers={"Content-Type": "text/plain"})
    assert reply.status == 415 and "application/json" in reply.error, reply


def test_taking_another_users_email_gets_409(admin, make_user):
    first, second = make_user("manager"), make_user("manager")
    reply = admin.patch(f"/users/{second.username}", {"email": f"{first.username}@example.org"})
    assert reply.status == 409 and "used by another user" in reply.error, reply


@pytest.mark.parametrize("to, message", [
    ("/data/a\u0000b", "NUL"), ("/data/" + "x" * 256, "over 255 bytes"), ("/data/lost+found/a", "file system"),
])
def test_recipes_the_creator_cannot_build_get_400(admin, warehouse, to, message):
    reply = admin.post("/orders", order_body(recipe={"output": {"size": "1G"}, "files": [{"to": to, "content": "x"}]}))
    assert reply.status == 400 and message in reply.error, reply
