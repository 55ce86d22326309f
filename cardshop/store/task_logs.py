"""The `task_logs` collection: the lines workers reported, one document per report (`<task>:<run>:<seq>`)."""

from cardshop.store.commits import unique


class LogLineExists(Exception):
    """That run of the task filed a line under that number already."""


def insert(db, task_id, run, seq, level, message, moment):
    """File a log line; LogLineExists when its number was filed already (a redelivered report)."""
    line_id = f"{task_id}:{run}:{seq}"
    with unique(lambda: LogLineExists(f"log line {line_id} exists")):
        db.task_logs.insert_one({"_id": line_id, "task": task_id, "run": run, "seq": seq, "level": level,
                                 "message": message, "at": moment})


def latest_of(db, task_id, count):
    """The task's latest `count` lines, oldest first."""
    return list(db.task_logs.find(of_task_filter(task_id)).sort(LATEST_FIRST).limit(count))[::-1]


def of_task_filter(task_id):
    return {"task": task_id}


LATEST_FIRST = [("at", -1), ("seq", -1)]
