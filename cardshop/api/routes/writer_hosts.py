"""Writer hosts' registered slots: operators and admins register them; a writer reads and unregisters its own.

A writer host's heartbeats, placement and claims count only the slots
registered here, so a writer account cannot invent hosts or slots: it may
not register any (403), only give its own up (cardshop-writer-helper forget).
A host is named `<writer user>@<host>`, as its slots' heartbeats name it.
"""

import logging
import re

from cardshop.api import schemas
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.pipeline.heartbeat import MAX_SLOTS, WORKER_PATTERN, slot_of
from cardshop.store import now, users, workers, writer_slots

log = logging.getLogger(__name__)
api = Api()

_NAME = re.compile(WORKER_PATTERN)
NUMBER = {"type": "integer", "minimum": 1, "maximum": MAX_SLOTS}
READER = schemas.obj({
    "match": {"type": "object", "minProperties": 1, "maxProperties": 4,
              "propertyNames": {"pattern": "^[A-Z][A-Z0-9_]{0,63}$"},
              "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 500},
              "description": "udev properties that single the reader out: {ID_PATH: ...}, or {DEVNAME: ...}"},
    "device": {"type": "string", "pattern": "^/dev/", "maxLength": 200, "x-hint": "must be a path under /dev/"},
    "label": {"type": "string", "maxLength": 200}}, ["match", "device"])
SLOT_IN = schemas.obj({"number": NUMBER, "reader": READER}, ["number", "reader"])
HOST_SLOTS_IN = schemas.obj({"slots": {"type": "array", "maxItems": MAX_SLOTS, "items": SLOT_IN,
                                       "description": "every slot of the host; those left out are unregistered"}},
                            ["slots"])
SLOT_OUT = schemas.obj({"number": {"type": "integer"}, "reader": READER, "registered_by": {"type": "string"},
                        "registered_at": schemas.TIME}, ["number", "reader", "registered_by", "registered_at"])
HOST_SLOTS = schemas.obj({"writer": {"type": "string"}, "host": {"type": "string"},
                          "slots": {"type": "array", "items": SLOT_OUT}}, ["writer", "host", "slots"])


def _host(call, verb):
    """(writer username, host) of the path's `<user>@<host>`, once the caller may `verb` its slots."""
    name = call.params["name"]
    if not _NAME.match(name) or slot_of(name)[1] is not None:
        raise ApiError(404, f"no writer host {name!r}: expected <writer user>@<host> (a host name as its "
                            "heartbeats give it, not ending in .slot-<N>)")
    username, _, host = name.partition("@")
    if call.user["role"] == roles.WRITER and call.user["username"] != username:
        raise ApiError(403, f"a writer may {verb} only its own slots")
    user = users.find(call.services.db, username, {"role": 1})
    if user is None:
        raise ApiError(404, f"no user {username!r}")
    if user["role"] != roles.WRITER:
        raise ApiError(409, f"{username!r} is a {user['role']}, not a writer: slots belong to writer users")
    return username, host


def _view(db, username, host):
    return {"writer": username, "host": host, "slots": [
        {key: doc[key] for key in ("number", "reader", "registered_by", "registered_at")}
        for doc in writer_slots.host_slots(db, username, host)]}


def _forget_records(db, username, host, numbers):
    """Unregistered slots lose their worker records at once; a host left without slots, its own too."""
    names = [writer_slots.slot_id(username, host, number) for number in numbers]
    if not writer_slots.host_slots(db, username, host):
        names.append(f"{username}@{host}")
    workers.delete(db, names)


@api.route("GET", "/writer-hosts/{name}/slots", summary="Read a writer host's registered slots "
           "(<writer user>@<host>; a writer: its own)", roles=(*roles.OPERATORS, roles.WRITER),
           response=HOST_SLOTS, errors=[401, 403, 404, 409])
def read(call):
    username, host = _host(call, "read")
    return _view(call.services.db, username, host)


@api.route("PUT", "/writer-hosts/{name}/slots", summary="Register a writer host's slots (all of them: the "
           "slots left out are unregistered); operators and admins only", roles=roles.OPERATORS,
           body=HOST_SLOTS_IN, response=HOST_SLOTS, errors=[400, 401, 403, 404, 409])
def replace(call):
    db = call.services.db
    username, host = _host(call, "register")
    numbers = [slot["number"] for slot in call.body["slots"]]
    twice = sorted({number for number in numbers if numbers.count(number) > 1})
    if twice:
        raise ApiError(400, f"field 'slots': slot {twice[0]} is listed more than once")
    hosts = writer_slots.hosts_of(db, username)
    most = call.services.max_hosts_per_writer
    if numbers and host not in hosts and len(hosts) >= most:
        raise ApiError(409, f"writer {username!r} has slots registered on {len(hosts)} hosts already "
                            f"({', '.join(hosts)}), the most allowed (writers.max_hosts_per_account); "
                            "unregister one first (PUT an empty slot list)")
    lost = writer_slots.replace_host(db, username, host, call.body["slots"], call.actor, now())
    _forget_records(db, username, host, lost)
    log.info("%s registered slots %s of %s@%s%s", call.actor, numbers or "none", username, host,
             f" (unregistered {lost})" if lost else "")
    return _view(db, username, host)


@api.route("DELETE", "/writer-hosts/{name}/slots/{number}", summary="Unregister one slot of a writer host "
           "(a writer: its own); its worker record goes", roles=(*roles.OPERATORS, roles.WRITER), status=204,
           errors=[401, 403, 404, 409])
def unregister(call):
    db = call.services.db
    username, host = _host(call, "unregister")
    raw = call.params["number"]
    number = int(raw) if re.fullmatch("[0-9]{1,3}", raw) else None
    if number is None or not writer_slots.unregister(db, username, host, number):
        known = ", ".join(str(doc["number"]) for doc in writer_slots.host_slots(db, username, host)) or "none"
        raise ApiError(404, f"slot {raw!r} of {username}@{host} is not registered (registered: {known})")
    _forget_records(db, username, host, [number])
    log.info("%s unregistered slot %d of %s@%s", call.actor, number, username, host)
    return None
