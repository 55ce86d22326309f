"""The `task_logs` collection: the lines workers reported, one document per report (`<task>:<run>:<seq>`)."""

from cardshop.store.commits import unique

# Per task: its first lines (up to HEAD_LINES and HEAD_BYTES), and its latest TAIL_LINES (each at most a
# report's 8,000 characters); the lines between are counted, not kept (monitor/apply.py).
HEAD_LINES, HEAD_BYTES, TAIL_LINES = 1000, 512 * 1024, 1000


class LogLineExists(Exception):
    """That run of the task filed a line under that number already."""


def insert(db, task_id, run, seq, level, message, moment, tail_number=None):
    """File a log line (`tail_number`: its number among the task's later lines, None for a first line);
    LogLineExists when its number was filed already (a redelivered report)."""
    line_id = f"{task_id}:{run}:{seq}"
    with unique(lambda: LogLineExists(f"log line {line_id} exists")):
        db.task_logs.insert_one({"_id": line_id, "task": task_id, "run": run, "seq": seq, "level": level,
                                 "message": message, "at": moment,
                                 **({"tail": tail_number} if tail_number is not None else {})})


def delete_of_tasks(db, task_ids):
    """Forget every line of these tasks; how many went."""
    return db.task_logs.delete_many({"task": {"$in": list(task_ids)}}).deleted_count


def drop_tail_before(db, task_id, number):
    """Forget the task's later lines numbered below `number` (they become part of the counted middle)."""
    db.task_logs.delete_many(tail_before_filter(task_id, number))


def tail_before_filter(task_id, number):
    return {"task": task_id, "tail": {"$lt": number}}


def latest_of(db, task_id, count):
    """The task's latest `count` lines, oldest first."""
    return list(db.task_logs.find(of_task_filter(task_id)).sort(LATEST_FIRST).limit(count))[::-1]


def of_task_filter(task_id):
    return {"task": task_id}


LATEST_FIRST = [("at", -1), ("seq", -1)]
