"""Tasks and workers: read-only views of the pipeline for operators."""

from cardshop.api import schemas
from cardshop.api.resources import NEWEST_FIRST, lookup, paginate
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.states.tasks import KINDS, STATUSES

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


@api.route("GET", "/workers", summary="List worker hosts with their slots, last-seen time and work",
           roles=roles.OPERATORS, query=schemas.PAGE_QUERY,
           response=schemas.page_of(schemas.WORKER), errors=[400, 401, 403])
def list_workers(call):
    return paginate(call.services.db.workers, call.query, {}, [("_id", 1)])


@api.route("GET", "/workers/{name}", summary="Read a worker host", roles=roles.OPERATORS,
           response=schemas.WORKER, errors=[401, 403, 404])
def read_worker(call):
    worker = call.services.db.workers.find_one({"_id": call.params["name"]})
    if worker is None:
        raise ApiError(404, f"no worker {call.params['name']!r}")
    return worker
