"""JSON Schemas of request and response bodies; they also fill the OpenAPI document."""

from cardshop.auth import roles
from cardshop.notify.kinds import OPERATOR_KINDS
from cardshop.recipes.recipe import CHECKSUM_LENGTHS, VIA
from cardshop.states import ORDER
from cardshop.states.tasks import KINDS, STATUSES as TASK_STATUSES
from cardshop.validation import ID_PATTERN

USERNAME = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{1,31}$",
            "x-hint": "2-32 characters: lowercase letters, digits, '_' or '-', starting with a letter"}
EMAIL = {"type": "string", "maxLength": 254, "pattern": "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$",
         "x-hint": "must be an email address"}
PASSWORD = {"type": "string", "minLength": 8, "maxLength": 72}
ID = {"type": "string", "pattern": ID_PATTERN, "x-hint": "must be an id of 24 hex digits"}
TIME = {"type": "string", "format": "date-time"}
ROLE = {"enum": list(roles.ASSIGNABLE)}
URL = {"type": "string", "maxLength": 2048, "pattern": "^https?://[^/\\s]+",
       "x-hint": "must be an http:// or https:// URL"}


def obj(properties, required=(), **extra):
    return {"type": "object", "additionalProperties": False, "properties": properties,
            "required": list(required), **extra}


def page_of(item):
    return obj({"items": {"type": "array", "items": item},
                "page": {"type": "integer"}, "per_page": {"type": "integer"},
                "total": {"type": "integer"}}, ["items", "page", "per_page", "total"])


def history_page_of(item):
    """A keyset page of a history: `next` is the `after` of the following page, null on the last."""
    return obj({"items": {"type": "array", "items": item}, "per_page": {"type": "integer"},
                "next": {"type": ["string", "null"]}}, ["items", "per_page", "next"])


ERROR = obj({"error": {"type": "string"}}, ["error"])

PAGE_QUERY = {
    "page": {"type": "integer", "minimum": 1, "maximum": 100000, "description": "1-based page number"},
    "per_page": {"type": "integer", "minimum": 1, "maximum": 200, "description": "items per page (default 50)"},
}

HISTORY_QUERY = {
    "after": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[A-Za-z0-9_-]+$",
              "description": "where the page starts: the `next` of the page before (omit for the newest)"},
    "per_page": PAGE_QUERY["per_page"],
}

# -- auth -------------------------------------------------------------------

CREDENTIALS = obj({"username": {"type": "string", "maxLength": 64}, "password": {"type": "string", "maxLength": 1024}},
                  ["username", "password"])
REFRESH = obj({"refresh_token": {"type": "string", "maxLength": 256}}, ["refresh_token"])
REVOKE = obj({"refresh_token": {"type": "string", "maxLength": 256}})
TOKEN_PAIR = obj({"access_token": {"type": "string"}, "refresh_token": {"type": "string"},
                  "token_type": {"const": "Bearer"}, "expires_in": {"type": "integer"}},
                 ["access_token", "refresh_token", "token_type", "expires_in"])
IDENTITY = obj({"username": {"type": "string"}, "role": {"type": "string"},
                 "tasks": {"type": "array", "items": {"type": "string"},
                           "description": "workers: the live tasks they hold"}}, ["username", "role"])

# -- users ------------------------------------------------------------------

USER_CREATE = obj({"username": USERNAME, "email": EMAIL, "password": PASSWORD, "role": ROLE,
                   "active": {"type": "boolean"}}, ["username", "email", "password", "role"])
USER_UPDATE = obj({"email": EMAIL, "role": ROLE, "active": {"type": "boolean"}}, minProperties=1)
PASSWORD_CHANGE = obj({"password": PASSWORD, "current_password": {"type": "string", "maxLength": 1024}},
                      ["password"])
# The kinds are checked by the route (an unknown one is named in the 400), so that the schema takes any word.
NOTIFY = {"type": "array", "uniqueItems": True, "maxItems": 20, "items": {"type": "string", "maxLength": 64},
          "description": "The e-mail notifications the user receives (admins and managers): "
                         + "; ".join(f"{kind}: {words}" for kind, words in OPERATOR_KINDS.items())}
NOTIFY_UPDATE = obj({"notify": NOTIFY}, ["notify"])
USER = obj({"_id": {"type": "string"}, "username": {"type": "string"}, "email": {"type": "string"},
            "role": {"enum": list(roles.ALL)}, "active": {"type": "boolean"}, "notify": NOTIFY,
            "created_at": TIME, "updated_at": TIME}, ["_id", "username", "email", "role", "active"])

# -- recipes and orders -----------------------------------------------------

CHECKSUM = obj({"algo": {"type": "string", "description": f"one of {', '.join(CHECKSUM_LENGTHS)}"},
                "value": {"type": "string", "maxLength": 128}}, ["algo", "value"])
SIZE = {"oneOf": [{"type": "integer", "minimum": 1},
                  {"type": "string", "maxLength": 32,
                   "description": "bytes, a size with K/M/G/T (powers of 1024), or 'auto'"}]}
RECIPE_FILE = obj({
    "to": {"type": "string", "maxLength": 1024, "description": "absolute path under /data"},
    "url": URL, "checksum": CHECKSUM, "via": {"enum": list(VIA)},
    "size": {"type": "integer", "minimum": 0, "description": "with 'url': the bytes it serves (the creator checks)"},
    "content": {"type": "string", "maxLength": 65536},
}, ["to"])
RECIPE = obj({
    "base": obj({"source": URL, "checksum": CHECKSUM}, ["source"]),
    "output": obj({"size": SIZE}, ["size"]),
    "files": {"type": "array", "maxItems": 1000, "items": RECIPE_FILE},
}, ["output"])
RECIPIENT = obj({"name": {"type": "string", "minLength": 1, "maxLength": 200},
                 "email": EMAIL,
                 "address": {"type": "string", "minLength": 1, "maxLength": 2000}},
                ["name", "email", "address"])
SD_CARD = obj({"size": {"type": "integer", "minimum": 1, "maximum": 4096, "description": "decimal GB as sold"},
               "type": {"enum": ["physical", "download"]}}, ["size", "type"])
AUTO_IMAGE_NAME = {"type": "string", "minLength": 1, "maxLength": 200}
# The image comes from exactly one of: a recipe (built), an order whose image is made, an auto-image's
# latest build (both written at once, no creator work).
IMAGE_FROM = ("recipe", "image_of", "auto_image")
ORDER_CREATE = obj({"recipe": RECIPE,
                    "image_of": {**ID, "description": "instead of a recipe: the order whose made image (still in "
                                                      "its warehouse) is written, with no new build"},
                    "auto_image": {**AUTO_IMAGE_NAME, "description": "instead of a recipe: the stable name of an "
                                                                     "auto-image, whose latest build is written"},
                    "sd_card": SD_CARD,
                    "quantity": {"type": "integer", "minimum": 1, "maximum": 10000},
                    "recipient": RECIPIENT,
                    "warehouse": {"type": "string", "maxLength": 64,
                                  "description": "name; the default one if left out (of an image made before: "
                                                 "its warehouse)"}},
                   ["sd_card", "quantity", "recipient"],
                   description="exactly one of recipe, image_of, auto_image")
SHIPMENT = obj({"carrier": {"type": "string", "minLength": 1, "maxLength": 100},
                "tracking_number": {"type": "string", "minLength": 1, "maxLength": 100},
                "tracking_url": URL,
                "note": {"type": "string", "maxLength": 2000}},
               ["carrier", "tracking_number"])
HISTORY = {"type": "array", "items": obj({"status": {"type": "string"}, "event": {"type": "string"},
                                          "at": TIME, "by": {"type": "string"}, "note": {"type": "string"}},
                                         ["status", "at", "by"])}
TASK = {"type": "object", "properties": {
    "_id": {"type": "string"}, "order": {"type": "string"}, "kind": {"enum": list(KINDS)},
    "status": {"enum": list(TASK_STATUSES)}, "statuses": HISTORY, "worker": {"type": ["string", "null"]},
    "progress": {"type": ["object", "null"]}, "created_at": TIME, "updated_at": TIME,
    "writer": {"type": ["string", "null"], "description": "write tasks: the writer host (user) it is queued for"},
    "result": {"type": "object", "description": "what the worker reported and the monitor checked"},
    "reason": {"type": "string"}, "attempt": {"type": "integer"},
    "retry_of": {"type": "string", "description": "the task this one redoes (timed out, or moved off its host)"}},
    "required": ["_id", "order", "kind", "status", "statuses"]}
CARD = obj({"task": {"type": "string"}, "host": {"type": "string"}, "slot": {"type": "integer"},
            "serial": {"type": ["string", "null"]}, "size": {"type": "integer", "description": "bytes"},
            "at": TIME}, ["task", "host", "slot", "at"])
ORDER_OUT = {"type": "object", "properties": {
    "_id": {"type": "string"}, "recipe": RECIPE, "sd_card": SD_CARD, "quantity": {"type": "integer"},
    "recipient": RECIPIENT, "warehouse": {"type": "string"},
    "status": {"enum": sorted(ORDER.statuses)}, "statuses": HISTORY,
    "shipment": SHIPMENT, "created_by": {"type": "string"}, "created_at": TIME, "updated_at": TIME,
    "tasks": {"type": "array", "items": TASK},
    "image": {"type": "object", "description": "the image once made: warehouse, folder, files, sha256, sizes"},
    "image_source": obj({"order": {"type": "string"}, "name": {"type": "string", "description": "its files' name"},
                         "auto_image": {"type": "string"}}, ["order", "name"],
                        description="an order of an image made before: the order that made it (and the "
                                    "auto-image it was ordered by)"),
    "auto_image": {"type": "string", "description": "a build of this auto-image (the beat's)"},
    "cards": {"type": "array", "items": CARD, "description": "physical orders: each card written and verified"}},
    "required": ["_id", "recipe", "sd_card", "quantity", "recipient", "status", "statuses"]}
REASON = obj({"reason": {"type": "string", "maxLength": 2000}})  # why an operator cancels or retries

# -- workers and warehouses -------------------------------------------------

NULLABLE_ID = {"type": ["string", "null"]}
SLOT_STATE = {"type": "object", "description": "one card slot of a writer host, from its writer@<slot> heartbeats",
              "properties": {
    "number": {"type": "integer", "minimum": 1}, "worker": {"type": "string", "description": "<user>@<host>.slot-<N>"},
    "state": {"type": "string", "description": "no_reader, empty, checking, ready, busy, done, failed or refused"},
    "message": {"type": ["string", "null"], "description": "what the slot shows: 'card of 16 GB', why it failed..."},
    "card": {"type": ["object", "null"], "properties": {"size": {"type": "integer"},
                                                        "serial": {"type": ["string", "null"]}}},
    "task": NULLABLE_ID, "order": NULLABLE_ID,
    "step": {"type": ["string", "null"], "description": "while busy: received, downloading, writing, verifying "
                                                       "or waiting (a retry; `message` says why)"},
    "percent": {"type": ["number", "null"]}, "rate": {"type": ["number", "null"], "description": "bytes/s"},
    "online": {"type": "boolean"}, "last_seen": TIME},
              "required": ["number", "worker", "state"]}
WORKER = {"type": "object", "description": (
    "A worker host. Slot workers of a writer host (<user>@<host>.slot-<N>) are shown as one item, "
    "<user>@<host>, with `slots` their count and `slot_states` each slot's state (by number)."), "properties": {
    "_id": {"type": "string"}, "username": {"type": "string"}, "host": {"type": "string"},
    "role": {"type": "string"}, "slots": {"type": "integer"}, "last_seen": TIME, "first_seen": TIME,
    "live_until": {**TIME, "description": "until when write tasks may be placed on it without a new heartbeat "
                                         "(the monitor's writer_timeout after its last one)"},
    "online": {"type": "boolean"}, "active": {"type": "integer"}, "software": {"type": "string"},
    "images": {"type": "array", "items": {"type": "string"}, "description": "images the host holds in its cache"},
    "slot_states": {"type": "array", "items": SLOT_STATE},
    "current_tasks": {"type": "array", "items": {"type": "object"}}}}
WAREHOUSE_NAME = {"type": "string", "pattern": "^[a-z][a-z0-9_-]{0,63}$",
                  "x-hint": "lowercase letters, digits, '_' or '-', starting with a letter"}
FTP_URL = {"type": "string", "maxLength": 2048, "pattern": "^ftps?://[^/\\s]+",
           "x-hint": "must be an ftp:// or ftps:// URL"}
DOWNLOAD_URL = {"type": "string", "maxLength": 2048, "pattern": "^(ftps?|https?)://[^/\\s]+",
                "x-hint": "must be an ftp(s):// or http(s):// URL"}
WAREHOUSE_CREATE = obj({"name": WAREHOUSE_NAME, "upload_url": FTP_URL, "download_url": DOWNLOAD_URL,
                        "default": {"type": "boolean"}}, ["name", "upload_url", "download_url"])
WAREHOUSE_UPDATE = obj({"upload_url": FTP_URL, "download_url": DOWNLOAD_URL,
                        "default": {"type": "boolean"}}, minProperties=1)
WAREHOUSE = obj({"_id": {"type": "string"}, "name": {"type": "string"}, "upload_url": {"type": "string"},
                 "download_url": {"type": "string"}, "default": {"type": "boolean"},
                 "created_at": TIME, "updated_at": TIME}, ["_id", "name", "upload_url", "download_url", "default"])
