"""Recipes: named image descriptions operators keep, to order from, edit and share (admins and managers)."""

import logging

from cardshop.api import schemas
from cardshop.api.resources import lookup, paginate
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.recipes import RecipeError, validate_recipe
from cardshop.store import new_id, now, recipes

log = logging.getLogger(__name__)
api = Api()

LARGEST_CARD = schemas.SD_CARD["properties"]["size"]["maximum"]  # whether it fits a card is the order's question
NAME = {"type": "string", "minLength": 1, "maxLength": 200, "description": "free text, shown as text"}
DESCRIPTION = {"type": "string", "maxLength": 2000}
RECIPE_CREATE = schemas.obj({"name": NAME, "description": DESCRIPTION, "recipe": schemas.RECIPE}, ["name", "recipe"])
RECIPE_UPDATE = schemas.obj({"name": NAME, "description": DESCRIPTION, "recipe": schemas.RECIPE}, minProperties=1)
RECIPE_OUT = schemas.obj({"_id": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
                          "recipe": schemas.RECIPE, "created_by": {"type": "string"}, "created_at": schemas.TIME,
                          "updated_at": schemas.TIME}, ["_id", "name", "recipe"])


def _check(recipe):
    try:
        validate_recipe(recipe, LARGEST_CARD)
    except RecipeError as exc:
        raise ApiError(400, str(exc)) from None


@api.route("POST", "/recipes", summary="Keep a recipe under a name", roles=roles.OPERATORS,
           body=RECIPE_CREATE, response=RECIPE_OUT, status=201, errors=[400, 401, 403])
def create(call):
    _check(call.body["recipe"])
    moment = now()
    doc = {"_id": new_id(), "description": "", **call.body, "created_by": call.actor,
           "created_at": moment, "updated_at": moment}
    recipes.insert(call.services.db, doc)
    log.info("%s kept recipe %s", call.actor, doc["_id"])
    return doc


@api.route("GET", "/recipes", summary="List recipes, by name", roles=roles.OPERATORS, query=schemas.PAGE_QUERY,
           response=schemas.page_of(RECIPE_OUT), errors=[400, 401, 403])
def list_recipes(call):
    return paginate(call.services.db.recipes, call.query, {}, [("name", 1), ("_id", 1)])


@api.route("GET", "/recipes/{id}", summary="Read a recipe", roles=roles.OPERATORS, response=RECIPE_OUT,
           errors=[401, 403, 404])
def read(call):
    return lookup(call.services.db.recipes, call.params["id"], "recipe")


@api.route("PATCH", "/recipes/{id}", summary="Rename a recipe, or change its description or content",
           roles=roles.OPERATORS, body=RECIPE_UPDATE, response=RECIPE_OUT, errors=[400, 401, 403, 404])
def update(call):
    db = call.services.db
    doc = lookup(db.recipes, call.params["id"], "recipe", {"_id": 1})
    if "recipe" in call.body:
        _check(call.body["recipe"])
    recipes.update(db, doc["_id"], {**call.body, "updated_at": now()})
    log.info("%s changed recipe %s", call.actor, doc["_id"])
    return recipes.find(db, doc["_id"])


@api.route("DELETE", "/recipes/{id}", summary="Forget a recipe (orders keep their own copy)",
           roles=roles.OPERATORS, status=204, errors=[401, 403, 404])
def delete(call):
    db = call.services.db
    doc = lookup(db.recipes, call.params["id"], "recipe", {"_id": 1})
    recipes.delete(db, doc["_id"])
    log.info("%s deleted recipe %s", call.actor, doc["_id"])
    return None
