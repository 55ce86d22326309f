"""Tasks and workers: read-only views of the pipeline for operators."""

from cardshop.api import schemas
from cardshop.api.resources import NEWEST_FIRST, lookup, paginate
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.states.tasks import KINDS, STATUSES, WORKING

api = Api()

WORKER_ID = {"type": "string", "pattern": "^[A-Za-z0-9@._-]{1,255}$"}


@api.route("GET", "/tasks", summary="List tasks, newest first", roles=roles.OPERATORS,
           query={**schemas.PAGE_QUERY, "order": schemas.ID, "status": {"enum": list(STATUSES)},
                  "worker": WORKER_ID, "kind": {"enum": list(KINDS)}},
           response=schemas.page_of(schemas.TASK), errors=[400, 401, 403])
def list_tasks(call):
    filters = {name: call.query[name] for name in ("order", "status", "worker", "kind") if name in call.query}
    return paginate(call.services.db.tasks, call.query, filters, NEWEST_FIRST)


@api.route("GET", "/tasks/{id}", summary="Read a task", roles=roles.OPERATORS,
           response=schemas.TASK, errors=[401, 403, 404])
def read_task(call):
    return lookup(call.services.db.tasks, call.params["id"], "task")


_LIVE = sorted(WORKING)


def with_current_tasks(db, worker):
    """The worker host's tasks in progress, with their progress (from the tasks it holds)."""
    worker["current_tasks"] = [
        {"_id": task["_id"], "order": task["order"], "kind": task["kind"], "status": task["status"],
         "progress": task.get("progress")}
        for task in db.tasks.find({"worker": worker.get("username"), "status": {"$in": _LIVE}},
                                  {"order": 1, "kind": 1, "status": 1, "progress": 1})]
    return worker


@api.route("GET", "/workers", summary="List worker hosts: role, slots, last seen, current tasks and progress",
           roles=roles.OPERATORS, query=schemas.PAGE_QUERY,
           response=schemas.page_of(schemas.WORKER), errors=[400, 401, 403])
def list_workers(call):
    db = call.services.db
    return paginate(db.workers, call.query, {}, [("_id", 1)], view=lambda worker: with_current_tasks(db, worker))


@api.route("GET", "/workers/{name}", summary="Read a worker host", roles=roles.OPERATORS,
           response=schemas.WORKER, errors=[401, 403, 404])
def read_worker(call):
    worker = call.services.db.workers.find_one({"_id": call.params["name"]})
    if worker is None:
        raise ApiError(404, f"no worker {call.params['name']!r}")
    return with_current_tasks(call.services.db, worker)
