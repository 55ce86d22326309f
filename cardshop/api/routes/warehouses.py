"""Warehouses: where images are uploaded and fetched. Admins manage them."""

import logging

from cardshop.api import schemas
from cardshop.api.resources import paginate
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.states import ORDER
from cardshop.store import new_id, now, orders, warehouses

log = logging.getLogger(__name__)
api = Api()


def _get(db, name):
    warehouse = warehouses.find(db, name)
    if warehouse is None:
        raise ApiError(404, f"no warehouse {name!r}")
    return warehouse


@api.route("POST", "/warehouses", summary="Add a warehouse", roles=[roles.ADMIN],
           body=schemas.WAREHOUSE_CREATE, response=schemas.WAREHOUSE, status=201,
           errors=[400, 401, 403, 409])
def create(call):
    db, body = call.services.db, call.body
    moment = now()
    first = warehouses.is_empty(db)
    doc = {"_id": new_id(), **body, "default": body.get("default", first),
           "created_at": moment, "updated_at": moment}
    try:
        warehouses.insert(db, doc)
    except warehouses.WarehouseExists as exc:
        raise ApiError(409, str(exc)) from None
    if doc["default"]:
        warehouses.make_default(db, doc["name"])
    log.info("%s added warehouse %s", call.actor, doc["name"])
    return doc


@api.route("GET", "/warehouses", summary="List warehouses", roles=roles.OPERATORS,
           query=schemas.PAGE_QUERY, response=schemas.page_of(schemas.WAREHOUSE), errors=[400, 401, 403])
def list_warehouses(call):
    return paginate(call.services.db.warehouses, call.query, {}, [("name", 1)])


@api.route("GET", "/warehouses/{name}", summary="Read a warehouse", roles=roles.OPERATORS,
           response=schemas.WAREHOUSE, errors=[401, 403, 404])
def read(call):
    return _get(call.services.db, call.params["name"])


@api.route("PATCH", "/warehouses/{name}", summary="Change a warehouse's URLs or make it the default",
           roles=[roles.ADMIN], body=schemas.WAREHOUSE_UPDATE, response=schemas.WAREHOUSE,
           errors=[400, 401, 403, 404, 409])
def update(call):
    db, name = call.services.db, call.params["name"]
    current = _get(db, name)
    if call.body.get("default") is False and current["default"]:
        raise ApiError(409, "make another warehouse the default instead")
    warehouses.update(db, name, {**call.body, "updated_at": now()})
    if call.body.get("default"):
        warehouses.make_default(db, name)
    log.info("%s changed warehouse %s", call.actor, name)
    return _get(db, name)


@api.route("DELETE", "/warehouses/{name}", summary="Remove a warehouse no live order uses",
           roles=[roles.ADMIN], status=204, errors=[401, 403, 404, 409])
def delete(call):
    db, name = call.services.db, call.params["name"]
    _get(db, name)
    live = orders.live_in_warehouse(db, name, ORDER.ended)
    if live:
        raise ApiError(409, f"warehouse {name!r} holds the images of {live} live order(s)")
    warehouses.delete(db, name)
    log.info("%s removed warehouse %s", call.actor, name)
    return None
