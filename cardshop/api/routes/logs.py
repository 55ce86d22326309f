"""Task logs: the lines workers reported, as the monitor filed them, for operators.

The monitor keeps a task's first lines and its latest ones (monitor/apply.py
caps both); the lines between, counted and not kept, are shown as one line
"… N lines dropped" where they were.
"""

from cardshop.api import schemas
from cardshop.api.resources import lookup
from cardshop.api.routing import Api
from cardshop.auth import roles
from cardshop.store.task_logs import TAIL_LINES, latest_of
from cardshop.store.tasks import log_lines_dropped

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
    task = lookup(db.tasks, call.params["id"], "task", {"_id": 1, "log_dropped": 1, "log_tail": 1, "updated_at": 1})
    items = latest_of(db, task["_id"], call.query.get("last", 200))
    dropped = log_lines_dropped(task, TAIL_LINES)
    if dropped:
        # Between the first lines and the latest ones (where the first of these is, else before them all).
        at = next((index for index, line in enumerate(items) if "tail" in line), len(items))
        items.insert(at, {"task": task["_id"], "seq": 0, "level": "warning", "at": task.get("updated_at"),
                          "message": f"… {dropped} lines dropped (the task's log is full)"})
    return {"items": [{key: value for key, value in line.items() if key != "tail"} for line in items]}
