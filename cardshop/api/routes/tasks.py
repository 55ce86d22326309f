"""Tasks and workers: read-only views of the pipeline for operators."""

import datetime

from cardshop.api import schemas
from cardshop.api.resources import DEFAULT_PER_PAGE, lookup, newest_page
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.pipeline.heartbeat import slot_of
from cardshop.states.tasks import ENDED, KINDS, STATUSES, WORKING
from cardshop.store import tasks, workers

api = Api()

WORKER_ID = {"type": "string", "pattern": "^[A-Za-z0-9@._-]{1,255}$"}


@api.route("GET", "/tasks", summary="List tasks, newest first, a page at a time (`after` = the page before's "
           "`next`)", roles=roles.OPERATORS,
           query={**schemas.HISTORY_QUERY, "order": schemas.ID, "status": {"enum": list(STATUSES)},
                  "worker": WORKER_ID, "kind": {"enum": list(KINDS)}},
           response=schemas.history_page_of(schemas.TASK), errors=[400, 401, 403])
def list_tasks(call):
    filters = {name: call.query[name] for name in ("order", "status", "worker", "kind") if name in call.query}
    # One order's tasks, or the tasks in flight, are few whatever the history.
    bounded = "order" in filters or ("status" in filters and filters["status"] not in ENDED)
    return newest_page(call.services.db.tasks, call.query, filters, bounded=bounded)


@api.route("GET", "/tasks/{id}", summary="Read a task", roles=roles.OPERATORS,
           response=schemas.TASK, errors=[401, 403, 404])
def read_task(call):
    return lookup(call.services.db.tasks, call.params["id"], "task")


_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def with_current_tasks(db, views):
    """The worker hosts' tasks in progress, with their progress (from the tasks their users hold), in one
    query: a page of workers costs one read of the tasks, not one per worker."""
    held = {}
    for task in tasks.held_by_in(db, {view["username"] for view in views if view.get("username")}, WORKING,
                                 {"order": 1, "kind": 1, "status": 1, "progress": 1, "worker": 1}):
        held.setdefault(task["worker"], []).append({"_id": task["_id"], "order": task["order"], "kind": task["kind"],
                                                    "status": task["status"], "progress": task.get("progress")})
    for view in views:
        view["current_tasks"] = held.get(view.get("username"), [])
    return views


_SLOT_FIELDS = ("state", "message", "card", "task", "order", "step", "percent", "rate")


def _host_view(key, docs):
    """One writer host from its slot workers' documents (each `<user>@<host>.slot-<N>`)."""
    slots = []
    for doc in docs:
        slot = doc["slot"]
        slots.append({"number": slot_of(doc["_id"])[1], "worker": doc["_id"],
                      **{field: slot.get(field) for field in _SLOT_FIELDS}, "online": bool(doc.get("online")),
                      **({"last_seen": doc["last_seen"]} if doc.get("last_seen") else {})})
    slots.sort(key=lambda slot: slot["number"])
    latest = max(docs, key=lambda doc: doc.get("last_seen") or _EPOCH)
    images = sorted({name for doc in docs for name in (doc.get("images") or []) if isinstance(name, str)})
    view = {"_id": key, "username": latest.get("username"), "host": key.partition("@")[2],
            "role": latest.get("role"), "online": any(slot["online"] for slot in slots),
            "last_seen": latest.get("last_seen"), "software": latest.get("software"), "slots": len(slots),
            "images": images, "slot_states": slots}
    return {field: value for field, value in view.items() if value is not None}


def worker_views(db, name=None):
    """Worker hosts by name: slot workers grouped under their host `<user>@<host>`, others as they are.

    With `name`, only that one (a slot worker's own name gives its document).
    """
    if name is not None and slot_of(name)[1] is not None:  # one slot worker, as it is
        doc = workers.find(db, name)
        return {name: doc} if doc else {}
    return _views(workers.named(db, name))


def _view_name(doc):
    """The view a worker document belongs to: its writer host `<user>@<host>` for a slot worker, else its own."""
    host, number = slot_of(doc["_id"])
    if number is not None and isinstance(doc.get("slot"), dict):
        return f"{doc['_id'].partition('@')[0]}@{host}"
    return doc["_id"]


def _views(docs):
    views, hosts = {}, {}
    for doc in docs:
        name = _view_name(doc)
        if name != doc["_id"]:
            hosts.setdefault(name, []).append(doc)
        else:
            views[name] = doc
    views.update({key: _host_view(key, docs) for key, docs in hosts.items()})  # a host's slots win over its name
    return views


@api.route("GET", "/workers", summary="List worker hosts: role, slots (a writer host's slot states), last seen, "
                                      "current tasks and progress",
           roles=roles.OPERATORS, query=schemas.PAGE_QUERY,
           response=schemas.page_of(schemas.WORKER), errors=[400, 401, 403])
def list_workers(call):
    db = call.services.db
    page, per_page = call.query.get("page", 1), call.query.get("per_page", DEFAULT_PER_PAGE)
    # The names of every record (live records only: the beat expires the others), then the page's documents.
    by_view = {}
    for doc in workers.names_and_slots(db):
        by_view.setdefault(_view_name(doc), []).append(doc["_id"])
    names = sorted(by_view)[(page - 1) * per_page:page * per_page]
    views = _views(workers.of_names(db, [worker for name in names for worker in by_view[name]]))
    return {"items": with_current_tasks(db, [views[name] for name in names if name in views]), "page": page,
            "per_page": per_page, "total": len(by_view)}


@api.route("GET", "/workers/{name}", summary="Read a worker host (a writer host by <user>@<host>, with its slots)",
           roles=roles.OPERATORS, response=schemas.WORKER, errors=[401, 403, 404])
def read_worker(call):
    worker = worker_views(call.services.db, call.params["name"]).get(call.params["name"])
    if worker is None:
        raise ApiError(404, f"no worker {call.params['name']!r}")
    return with_current_tasks(call.services.db, [worker])[0]
