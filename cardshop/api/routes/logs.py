"""Task logs: the lines workers reported, as the monitor filed them, for operators.

The monitor keeps at most a task's first lines (monitor/apply.py caps them by
count and bytes); the lines it dropped are shown as one last line
"… N lines dropped".
"""

from cardshop.api import schemas
from cardshop.api.resources import lookup
from cardshop.api.routing import Api
from cardshop.auth import roles
from cardshop.store.task_logs import latest_of

api = Api()

LOG_LINE = schemas.obj({"_id": {"type": "string"}, "task": {"type": "string"}, "run": {"type": "string"},
                        "seq": {"type": "integer"}, "level": {"type": "string"}, "message": {"type": "string"},
                        "at": schemas.TIME}, ["task", "seq", "level", "message"])
LAST = {"type": "integer", "minimum": 1, "maximum": 1000, "description": "how many of the latest lines (default 200)"}


@api.route("GET", "/tasks/{id}/logs", summary="A task's log lines, oldest first (the latest `last` of them)",
           roles=roles.OPERATORS, query={"last": LAST},
           response=schemas.obj({"items": {"type": "array", "items": LOG_LINE}}, ["items"]),
           errors=[400, 401, 403, 404])
def task_logs(call):
    db = call.services.db
    task = lookup(db.tasks, call.params["id"], "task", {"_id": 1, "log_dropped": 1, "updated_at": 1})
    items = latest_of(db, task["_id"], call.query.get("last", 200))
    if task.get("log_dropped"):
        items.append({"task": task["_id"], "seq": 0, "level": "warning", "at": task.get("updated_at"),
                      "message": f"… {task['log_dropped']} lines dropped (the task's log is full)"})
    return {"items": items}
