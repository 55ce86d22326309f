"""The OpenAPI document describes every route, and is valid OpenAPI 3.1."""

import pytest
from openapi_spec_validator import validate

from cardshop.api.app import all_routes
from cardshop.api.openapi import build_document

ROUTES = all_routes(1024 * 1024).routes
DOCUMENT = build_document(ROUTES)


def test_the_document_is_valid_openapi():
    validate(DOCUMENT)


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_every_route_is_documented_with_its_errors(route):
    operation = DOCUMENT["paths"][route.path][route.method.lower()]
    assert operation["summary"]
    responses = operation["responses"]
    assert str(route.status) in responses
    assert "400" in responses, "the HTTP server refuses malformed requests on any route"
    if route.roles is not None:
        assert operation["security"] == [{"bearer": []}]
        assert {"401", "503"} <= set(responses), "authenticated routes read the user as stored"
    if route.body is not None and not route.text:
        assert {"400", "413", "415", "503"} <= set(responses)


def test_a_route_closed_to_some_roles_documents_403():
    operation = DOCUMENT["paths"]["/users"]["post"]
    assert "403" in operation["responses"]


def test_the_http_servers_plain_text_400_is_documented():
    content = DOCUMENT["components"]["responses"]["E400"]["content"]
    assert set(content) == {"application/json", "text/plain"}


def test_no_two_routes_share_a_method_and_path():
    keys = [(route.method, route.path) for route in ROUTES]
    assert len(keys) == len(set(keys))


def test_writer_hosts_slots_and_order_cards_are_documented_for_the_manager():
    worker = DOCUMENT["paths"]["/workers/{name}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    slot = worker["properties"]["slot_states"]["items"]
    assert {"number", "state", "message", "card", "task", "order", "step", "percent", "rate",
            "last_seen"} <= set(slot["properties"])
    order = DOCUMENT["paths"]["/orders/{id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert {"task", "host", "slot", "serial", "size", "at"} <= set(order["properties"]["cards"]["items"]["properties"])
