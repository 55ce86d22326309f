"""Orders: admins and managers place, follow, cancel, ship and delete them."""

import logging

from cardshop.api import schemas
from cardshop.api.resources import lookup, newest_page
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.domain import reuse
from cardshop.domain.cascades import Cascades
from cardshop.recipes import RecipeError, validate_recipe
from cardshop.states import ORDER, IllegalTransition
from cardshop.store import now, orders, paging, search, tasks, warehouses
from cardshop.store.transitions import transition

log = logging.getLogger(__name__)
api = Api()

STATUS_FILTER = {"type": "string", "maxLength": 300,
                 "description": f"one status or several separated by commas: {', '.join(sorted(ORDER.statuses))}"}
SEARCH = {"type": "string", "minLength": 1, "maxLength": 100,
          "description": "words, ignoring case; an order matches when each word starts one of its terms: the "
                         "order id, its short id (its last 8 hex digits), the recipient's email, a word of the recipient's name, the tracking number, "
                         "who placed it (taken literally, not as a pattern; found through an index)"}


def _warehouse_for(db, name):
    if name is not None:
        warehouse = warehouses.find(db, name, {"name": 1})
        if warehouse is None:
            raise ApiError(400, f"field 'warehouse': no warehouse {name!r}")
        return name
    warehouse = warehouses.find_default(db, {"name": 1})
    if warehouse is None:
        raise ApiError(409, "no warehouse given and no default warehouse is set")
    return warehouse["name"]


def with_tasks(db, order):
    order["tasks"] = orders.tasks_of(db, order["_id"])
    return shown(order)


def shown(order):
    """The order as the API shows it: without the fields it is searched by (store/search.py)."""
    for field in search.FIELDS:
        order.pop(field, None)
    return order


@api.route("POST", "/orders", summary="Place an order: of a recipe (checked; its create task recorded), or of an "
           "image made before (`image_of` an order, or an `auto_image`'s latest build: its write tasks published, "
           "or ready to download, at once)",
           roles=roles.OPERATORS, body=schemas.ORDER_CREATE, response=schemas.ORDER_OUT, status=201,
           errors=[400, 401, 403, 404, 409])
def create(call):
    db, body = call.services.db, call.body
    given = [field for field in schemas.IMAGE_FROM if field in body]
    if len(given) != 1:
        raise ApiError(400, f"give exactly one of the fields {', '.join(repr(f) for f in schemas.IMAGE_FROM)}"
                            + (f", not {' and '.join(repr(f) for f in given)}" if given else ""))
    if body["sd_card"]["type"] == "download" and body["quantity"] != 1:
        raise ApiError(400, "field 'quantity': a download order makes one image; it must be 1")
    if "recipe" not in body:
        return _create_of_image(call, body)
    try:
        validate_recipe(body["recipe"], body["sd_card"]["size"])
    except RecipeError as exc:
        raise ApiError(400, str(exc)) from None
    fields = {**body, "warehouse": _warehouse_for(db, body.get("warehouse")),
              "recipient": {**body["recipient"], "email": body["recipient"]["email"].lower()}}
    order, task = orders.record_order(db, fields, call.actor, now())
    if call.services.publisher is not None:
        call.services.publisher.publish(task)
        task = tasks.find(db, task["_id"])
    log.info("%s placed order %s (%s card, %d GB, x%d)", call.actor, order["_id"],
             body["sd_card"]["type"], body["sd_card"]["size"], body["quantity"])
    order["tasks"] = [task]
    return shown(order)


def _create_of_image(call, body):
    """An order of an image made before (domain/reuse.py): written at once, no creator work."""
    db = call.services.db
    fields = {key: value for key, value in body.items() if key not in schemas.IMAGE_FROM}
    fields["recipient"] = {**body["recipient"], "email": body["recipient"]["email"].lower()}
    try:
        source = reuse.source_order(db, body.get("image_of"), body.get("auto_image"))
        order = reuse.place_of_image(db, call.services.publisher, fields, call.actor, source, body.get("auto_image"))
    except reuse.UnknownSource as exc:
        raise ApiError(404, str(exc)) from None
    except reuse.ImageUnavailable as exc:
        raise ApiError(409, str(exc)) from None
    except reuse.ReuseError as exc:  # a field names nothing, or does not fit the image
        raise ApiError(400, str(exc)) from None
    return with_tasks(db, order)


@api.route("GET", "/orders", summary="List orders, newest first, a page at a time (`after` = the page before's "
           "`next`); filter by status, search with q",
           roles=roles.OPERATORS, query={**schemas.HISTORY_QUERY, "status": STATUS_FILTER, "q": SEARCH},
           response=schemas.history_page_of(schemas.ORDER_OUT), errors=[400, 401, 403])
def list_orders(call):
    filters = {}
    if "status" in call.query:
        wanted = [status.strip() for status in call.query["status"].split(",")]
        unknown = [status for status in wanted if status not in ORDER.statuses]
        if unknown:
            raise ApiError(400, f"query parameter 'status': unknown status {unknown[0]!r}")
        filters["status"] = {"$in": wanted}
    db = call.services.db
    if call.query.get("q", "").strip():
        filters.update(search.matching(call.query["q"]))
        bounded = search.few_matches(db.orders, filters)  # counted through the search index
    elif "status" in filters:
        counts = orders.count_by_status(db)
        bounded = sum(counts[status] for status in set(filters["status"]["$in"])) <= paging.FEW
    else:
        bounded = False
    # Few matches: one sorted query; else time windows (store/paging.py).
    return newest_page(db.orders, call.query, filters, dict.fromkeys(search.FIELDS, 0), bounded=bounded)


@api.route("GET", "/orders/{id}", summary="Read an order with its tasks and status history",
           roles=roles.OPERATORS, response=schemas.ORDER_OUT, errors=[401, 403, 404])
def read(call):
    db = call.services.db
    return with_tasks(db, lookup(db.orders, call.params["id"], "order"))


def _transition(db, order_id, event, actor, note=None, extra=None):
    try:
        return transition(db.orders, order_id, ORDER, event, actor, note=note, extra=extra)
    except IllegalTransition as exc:
        raise ApiError(409, str(exc)) from None


@api.route("POST", "/orders/{id}/cancel", summary="Cancel an order and its unfinished tasks",
           roles=roles.OPERATORS, body=schemas.REASON, body_optional=True,
           response=schemas.ORDER_OUT, errors=[400, 401, 403, 404, 409])
def cancel(call):
    db = call.services.db
    order = lookup(db.orders, call.params["id"], "order", {"_id": 1})
    try:
        Cascades(db, call.services.publisher).cancel_order(order["_id"], call.actor, call.body.get("reason"))
    except IllegalTransition as exc:
        raise ApiError(409, str(exc)) from None
    log.info("%s canceled order %s", call.actor, order["_id"])
    return with_tasks(db, orders.find(db, order["_id"]))


@api.route("POST", "/orders/{id}/retry", summary="Try a failed order again: a new attempt of its failed step "
           "(the create task, or the write tasks of the cards still to write)",
           roles=roles.OPERATORS, body=schemas.REASON, body_optional=True,
           response=schemas.ORDER_OUT, errors=[400, 401, 403, 404, 409])
def retry(call):
    db = call.services.db
    order = lookup(db.orders, call.params["id"], "order", {"status": 1, "quantity": 1})
    if order["status"] not in ("creation_failed", "write_failed"):
        raise ApiError(409, f"order {order['_id']} is {order['status']}; only a creation_failed or write_failed "
                            f"order is retried")
    reason = call.body.get("reason") or f"retried by {call.actor}"
    try:
        made = Cascades(db, call.services.publisher).retry_order(order, call.actor, reason)
    except IllegalTransition as exc:
        raise ApiError(409, str(exc)) from None
    log.info("%s retried order %s (new tasks %s)", call.actor, order["_id"], ", ".join(made))
    return with_tasks(db, orders.find(db, order["_id"]))


@api.route("POST", "/orders/{id}/ship", summary="Record that the cards left, with tracking details",
           roles=roles.OPERATORS, body=schemas.SHIPMENT, response=schemas.ORDER_OUT,
           errors=[400, 401, 403, 404, 409])
def ship(call):
    db = call.services.db
    order = lookup(db.orders, call.params["id"], "order", {"sd_card": 1, "recipient": 1, "created_by": 1})
    if order["sd_card"]["type"] != "physical":
        raise ApiError(409, "a download order is not shipped")
    shipment = {**call.body, "shipped_at": now(), "by": call.actor}
    _transition(db, order["_id"], "ship", call.actor,
                extra={"shipment": shipment, **orders.searchable(order, shipment=shipment)})
    log.info("%s shipped order %s with %s", call.actor, order["_id"], call.body["carrier"])
    return with_tasks(db, orders.find(db, order["_id"]))


@api.route("DELETE", "/orders/{id}", summary="Delete an ended order and its tasks",
           roles=roles.OPERATORS, status=204, errors=[401, 403, 404, 409])
def delete(call):
    db = call.services.db
    order = lookup(db.orders, call.params["id"], "order", {"status": 1})
    if order["status"] not in ORDER.ended:
        raise ApiError(409, f"order is {order['status']!r}; only ended orders "
                            f"({', '.join(sorted(ORDER.ended))}) may be deleted")
    orders.delete_ended(db, order["_id"], order["status"])
    log.info("%s deleted order %s", call.actor, order["_id"])
    return None
