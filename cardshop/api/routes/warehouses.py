"""Warehouses: where images are uploaded and fetched. Admins manage them."""

import logging

import pymongo.errors

from cardshop.api import schemas
from cardshop.api.resources import paginate
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.states import ORDER
from cardshop.store import new_id, now

log = logging.getLogger(__name__)
api = Api()


def _get(db, name):
    warehouse = db.warehouses.find_one({"name": name})
    if warehouse is None:
        raise ApiError(404, f"no warehouse {name!r}")
    return warehouse


def _make_default(db, name):
    # Not atomic across documents (no transactions on FerretDB); the one
    # marked last wins and reads below reflect it.
    db.warehouses.update_many({"default": True, "name": {"$ne": name}}, {"$set": {"default": False}})


@api.route("POST", "/warehouses", summary="Add a warehouse", roles=[roles.ADMIN],
           body=schemas.WAREHOUSE_CREATE, response=schemas.WAREHOUSE, status=201,
           errors=[400, 401, 403, 409])
def create(call):
    db, body = call.services.db, call.body
    moment = now()
    first = db.warehouses.count_documents({}) == 0
    doc = {"_id": new_id(), **body, "default": body.get("default", first),
           "created_at": moment, "updated_at": moment}
    try:
        db.warehouses.insert_one(doc)
    except pymongo.errors.DuplicateKeyError:
        raise ApiError(409, f"warehouse {body['name']!r} exists") from None
    if doc["default"]:
        _make_default(db, doc["name"])
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
    db.warehouses.update_one({"name": name}, {"$set": {**call.body, "updated_at": now()}})
    if call.body.get("default"):
        _make_default(db, name)
    log.info("%s changed warehouse %s", call.actor, name)
    return _get(db, name)


@api.route("DELETE", "/warehouses/{name}", summary="Remove a warehouse no live order uses",
           roles=[roles.ADMIN], status=204, errors=[401, 403, 404, 409])
def delete(call):
    db, name = call.services.db, call.params["name"]
    _get(db, name)
    live = db.orders.count_documents({"warehouse": name, "status": {"$nin": sorted(ORDER.ended)}})
    if live:
        raise ApiError(409, f"warehouse {name!r} holds the images of {live} live order(s)")
    db.warehouses.delete_one({"name": name})
    log.info("%s removed warehouse %s", call.actor, name)
    return None
