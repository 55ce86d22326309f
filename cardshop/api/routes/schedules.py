"""Schedules of the beat's periodic jobs: admins edit them, the beat picks changes up within seconds."""

import logging

from cardshop.api import schemas
from cardshop.api.resources import paginate
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.domain.jobs import CATALOGUE, parameters
from cardshop.recipes import RecipeError, validate_recipe
from cardshop.validation import Validator
from cardshop.store import new_id, now, schedules

log = logging.getLogger(__name__)
api = Api()

CRONTAB = {"type": "string", "pattern": r"^\S+ \S+ \S+ \S+ \S+$",
           "x-hint": "must be five crontab fields: minute hour day-of-month month day-of-week"}
_FIELDS = {"job": {"enum": sorted(CATALOGUE)}, "every": {"type": "integer", "minimum": 1, "maximum": 31 * 86400},
           "crontab": CRONTAB, "params": {"type": "object"}, "enabled": {"type": "boolean"}}
SCHEDULE_CREATE = schemas.obj({"name": schemas.WAREHOUSE_NAME, **_FIELDS}, ["name", "job"])
SCHEDULE_UPDATE = schemas.obj(_FIELDS, minProperties=1)
SCHEDULE = {"type": "object", "properties": {
    "_id": {"type": "string"}, "name": {"type": "string"}, "job": {"type": "string"},
    "every": {"type": "integer"}, "crontab": {"type": "string"}, "params": {"type": "object"},
    "enabled": {"type": "boolean"}, "last_run_at": {"type": ["string", "null"]},
    "total_run_count": {"type": "integer"},
    "last_result": {"type": "object", "description": "The last run's summary: what it did, why it was skipped "
                                                     "(`skipped`), or `error`."},
    "last_duration": {"type": "number", "description": "Seconds the last run took."},
    "last_finished_at": {"type": "string"}}, "required": ["_id", "name", "job", "enabled"]}


def _check(doc):
    if bool(doc.get("every")) == bool(doc.get("crontab")):
        raise ApiError(400, "give exactly one of 'every' (seconds) or 'crontab'")
    if doc.get("crontab"):
        from celery.schedules import crontab
        minute, hour, day_of_month, month_of_year, day_of_week = doc["crontab"].split()
        try:
            crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                    day_of_week=day_of_week)
        except (ValueError, TypeError) as exc:
            raise ApiError(400, f"field 'crontab': {exc}") from None
    if doc["job"] == "auto_image":
        _check_auto_image(doc.get("params", {}))
    accepted = parameters(doc["job"])
    unknown = sorted(set(doc.get("params", {})) - set(accepted))
    if unknown:
        raise ApiError(400, f"field 'params.{unknown[0]}': job {doc['job']} takes "
                            f"{', '.join(accepted) or 'no parameters'}")


_AUTO_IMAGE = schemas.obj({"name": schemas.WAREHOUSE_NAME, "recipe": schemas.RECIPE,
                           "card_size": schemas.SD_CARD["properties"]["size"],
                           "warehouse": {"type": "string", "maxLength": 64}}, ["name", "recipe"])
_AUTO_IMAGE_VALIDATOR = Validator(_AUTO_IMAGE)


def _check_auto_image(params):
    error = _AUTO_IMAGE_VALIDATOR.first_error(params)
    if error:
        raise ApiError(400, error.replace("field '", "field 'params.", 1))
    try:
        validate_recipe(params["recipe"], params.get("card_size", 64))
    except RecipeError as exc:
        raise ApiError(400, f"params.{exc}") from None


def _get(db, name):
    doc = schedules.find(db, name)
    if doc is None:
        raise ApiError(404, f"no schedule {name!r}")
    return doc


@api.route("POST", "/schedules", summary="Add a periodic job", roles=[roles.ADMIN], body=SCHEDULE_CREATE,
           response=SCHEDULE, status=201, errors=[400, 401, 403, 409])
def create(call):
    doc = {"params": {}, "enabled": True, **call.body}
    _check(doc)
    moment = now()
    doc.update(_id=new_id(), total_run_count=0, last_run_at=None, created_at=moment, updated_at=moment)
    try:
        schedules.insert(call.services.db, doc)
    except schedules.ScheduleExists as exc:
        raise ApiError(409, str(exc)) from None
    log.info("%s added schedule %s (%s)", call.actor, doc["name"], doc["job"])
    return doc


@api.route("GET", "/schedules", summary="List the periodic jobs", roles=roles.OPERATORS,
           query=schemas.PAGE_QUERY, response=schemas.page_of(SCHEDULE), errors=[400, 401, 403])
def list_schedules(call):
    return paginate(call.services.db.schedules, call.query, {}, [("name", 1)])


@api.route("GET", "/schedules/{name}", summary="Read a periodic job", roles=roles.OPERATORS,
           response=SCHEDULE, errors=[401, 403, 404])
def read(call):
    return _get(call.services.db, call.params["name"])


@api.route("PATCH", "/schedules/{name}", summary="Change a periodic job (timing, parameters, on/off)",
           roles=[roles.ADMIN], body=SCHEDULE_UPDATE, response=SCHEDULE, errors=[400, 401, 403, 404])
def update(call):
    db, name = call.services.db, call.params["name"]
    doc = {**_get(db, name), **call.body}
    if "every" in call.body:
        doc.pop("crontab", None)
    if "crontab" in call.body:
        doc.pop("every", None)
    _check(doc)
    schedules.update(db, name, {**call.body, "updated_at": now()},
                     unset=[key for key in ("every", "crontab") if key not in doc])
    log.info("%s changed schedule %s", call.actor, name)
    return _get(db, name)


@api.route("DELETE", "/schedules/{name}", summary="Remove a periodic job", roles=[roles.ADMIN],
           status=204, errors=[401, 403, 404])
def delete(call):
    _get(call.services.db, call.params["name"])
    schedules.delete(call.services.db, call.params["name"])
    log.info("%s removed schedule %s", call.actor, call.params["name"])
    return None
