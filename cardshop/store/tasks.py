"""The `tasks` collection: the work of an order, one document per attempt. Statuses change only through
store/transitions.py; new tasks are built here (`new_task`) so that every writer builds them alike."""

from pymongo import ReturnDocument

from cardshop.states import task_machine
from cardshop.states.tasks import QUEUED, STATUSES, WORKING
from cardshop.store.commits import claimed
from cardshop.store.db import new_id
from cardshop.store.transitions import initial_history


IN_FLIGHT = QUEUED | WORKING


def new_task(order_id, kind, actor, moment, **fields):
    return {"_id": new_id(), "order": order_id, "kind": kind,
            "status": task_machine(kind).initial, "rev": 0,
            "statuses": initial_history(task_machine(kind), actor, moment),
            "attempt": 1, "worker": None, "progress": None, "published_at": None,
            "created_at": moment, "updated_at": moment, **fields}


def insert(db, task):
    db.tasks.insert_one(task)


def find(db, task_id, projection=None):
    return db.tasks.find_one({"_id": task_id}, projection)


def in_none_of(statuses):
    """A status condition for the tasks in none of `statuses`, as the statuses they may be in: an index
    finds those (DocumentDB answers a `$nin` by walking every other entry of the index)."""
    return {"$in": sorted(set(STATUSES) - set(statuses))}


def of_kind(db, order_id, kind, projection=None):
    """The order's tasks of `kind`, newest first."""
    return list(db.tasks.find(of_kind_filter(order_id, kind), projection).sort(NEWEST_FIRST))


def latest_of_kind(db, order_id, kind):
    return db.tasks.find_one(of_kind_filter(order_id, kind), sort=NEWEST_FIRST)


def of_kind_filter(order_id, kind):
    return {"order": order_id, "kind": kind}


NEWEST_FIRST = [("created_at", -1)]


def count_of_kind(db, order_id, kind):
    return db.tasks.count_documents({"order": order_id, "kind": kind})


def of_kind_not_in(db, order_id, kind, statuses, projection=None):
    """The order's tasks of `kind` in none of `statuses` (its live ones, given the ended statuses)."""
    return list(db.tasks.find({"order": order_id, "kind": kind, "status": in_none_of(statuses)}, projection))


def orders_with_kind_not_in(db, order_ids, kind, statuses):
    """Which of the orders have a task of `kind` in none of `statuses` (a live one): one query for them all."""
    return {task["order"] for task in db.tasks.find(orders_of_kind_filter(order_ids, kind, statuses), {"order": 1})}


def orders_of_kind_filter(order_ids, kind, statuses):
    return {"order": {"$in": list(order_ids)}, "kind": kind, "status": in_none_of(statuses)}


def written_of(db, order_id, projection=None):
    """The order's write tasks that wrote their card."""
    return list(db.tasks.find({"order": order_id, "kind": "write", "status": "written"}, projection))


def placed_writes_not_in(db, order_id, statuses):
    """The order's write tasks given a writer host and in none of `statuses` (its live ones)."""
    return list(db.tasks.find({"order": order_id, "kind": "write", "writer": {"$ne": None},
                               "status": in_none_of(statuses)}, {"writer": 1}))


def count_writes_on_not_in(db, writer, statuses):
    """How many write tasks on host `writer` are in none of `statuses` (unfinished, given the ended ones)."""
    return db.tasks.count_documents(writes_on_filter(writer, statuses))


def writes_on_filter(writer, statuses):
    return {"writer": writer, "status": in_none_of(statuses), "kind": "write"}


def in_flight_counts(db):
    """{(kind, status): how many} of the tasks queued or held by a worker (what is in flight, not the history)."""
    counts = {}
    for task in db.tasks.find(in_flight_filter(), {"_id": 0, "kind": 1, "status": 1}):
        key = (str(task.get("kind")), str(task.get("status")))
        counts[key] = counts.get(key, 0) + 1
    return counts


def in_flight_filter():
    return {"status": {"$in": sorted(IN_FLIGHT)}}


def unconfirmed_before(db, moment):
    """Queued tasks created before `moment` whose last publication the broker never confirmed."""
    return db.tasks.find(unconfirmed_filter(moment))


def unconfirmed_filter(moment):
    return {"status": {"$in": sorted(QUEUED)}, "published_at": None, "created_at": {"$lt": moment}}


def queued_published_before(db, moment):
    """Queued tasks whose last publication the broker confirmed before `moment` (their message should be there)."""
    return db.tasks.find(queued_published_filter(moment), {"kind": 1, "writer": 1, "order": 1, "status": 1, "attempt": 1})


def queued_published_filter(moment):
    return {"status": {"$in": sorted(QUEUED)}, "published_at": {"$lt": moment}}


def silent_since(db, statuses, moment):
    """Tasks in `statuses` with no report (nor, before any report, change) since `moment`."""
    return db.tasks.find(silent_filter(statuses, moment))


def silent_filter(statuses, moment):
    return {"status": {"$in": sorted(statuses)}, "$or": [
        {"last_report_at": {"$lt": moment}}, {"last_report_at": None, "updated_at": {"$lt": moment}}]}


def placed_writes_in(db, statuses):
    """Write tasks given a writer host and in one of `statuses`."""
    return db.tasks.find(placed_writes_filter(statuses))


def placed_writes_filter(statuses):
    return {"status": {"$in": sorted(statuses)}, "kind": "write", "writer": {"$ne": None}}


def held_by_in(db, workers, statuses, projection=None):
    """The tasks any of `workers` (usernames) holds in one of `statuses`: one query for a page of workers."""
    return db.tasks.find(held_by_filter(workers, statuses), projection)


def held_by_filter(workers, statuses):
    return {"worker": {"$in": sorted(workers)}, "status": {"$in": sorted(statuses)}}


def ids_held_by_not_in(db, worker, statuses):
    """The ids of the tasks `worker` holds in none of `statuses` (its live ones, given the ended statuses)."""
    return [task["_id"] for task in db.tasks.find(held_by_filter([worker], set(STATUSES) - set(statuses)), {"_id": 1})]


def set_writer(db, task_id, writer):
    db.tasks.update_one({"_id": task_id}, {"$set": {"writer": writer}})


def set_grant(db, task_id, digest):
    """The digest of the grant the next publication carries, while the task is queued; False when it is not.

    Earlier publications' claims are refused from then on.
    """
    return db.tasks.update_one({"_id": task_id, "status": {"$in": sorted(QUEUED)}},
                               {"$set": {"grant_digest": digest, "published_at": None}}).matched_count == 1


def mark_published(db, task_id, moment):
    db.tasks.update_one({"_id": task_id}, {"$set": {"published_at": moment}, "$inc": {"publications": 1}})


def after_run_key(task_id, run):
    """The commit that decides which run takes task `task_id` over from `run` (None: its first run)."""
    return f"tasks/{task_id}/after-run/{run}"


def latest_takeover(db, task_id, run):
    """The latest won takeover after `run` (its commit record: run, worker, runs, at, claim), or None.

    The commits are the truth and the task's `run` a copy, which a monitor dying in between leaves behind.
    """
    record = None
    while (later := claimed(db, after_run_key(task_id, run))) is not None:
        run, record = later["run"], later
    return record


def take_over(db, task_id, record):
    """Write a won claim (`record`: run, worker, runs, at, claim) on the task; idempotent."""
    db.tasks.update_one({"_id": task_id}, {"$set": {
        "run": record["run"], "last_seq": 0, "worker": record["worker"], "claimed_at": record["at"],
        "runs": record["runs"], "claim": record.get("claim")}})


def record_report(db, task_id, run, seq, moment, changes=None):
    """Count report `seq` of `run` on the task, with `changes`, unless a later one is counted; True if it was."""
    return db.tasks.update_one(
        {"_id": task_id, "run": run, "last_seq": {"$lt": seq}},
        {"$set": {"last_seq": seq, "last_report_at": moment, **(changes or {})}}).modified_count == 1


def count_log_line(db, task_id, run, seq, moment, size, head):
    """Count log report `seq` of `run` (`size` bytes) among the task's first lines (`head`) or its later
    ones; None when it was counted already (or the run is not the task's), else 0 for a first line and
    the line's number among the later ones (1, 2, …: `log_tail`)."""
    guard = {"_id": task_id, "run": run, "last_seq": {"$lt": seq}}
    moved = {"$set": {"last_seq": seq, "last_report_at": moment}}
    if head:
        counted = db.tasks.update_one(guard, {**moved, "$inc": {"log_lines": 1, "log_bytes": size}})
        return 0 if counted.modified_count == 1 else None
    after = db.tasks.find_one_and_update(guard, {**moved, "$inc": {"log_tail": 1}},
                                         projection={"log_tail": 1}, return_document=ReturnDocument.AFTER)
    return after["log_tail"] if after else None


def log_lines_dropped(task, tail_lines):
    """How many of the task's log lines were counted and not kept: those between its first lines and its
    latest `tail_lines` (and, on tasks logged before tails were kept, every line after the first ones)."""
    return task.get("log_dropped", 0) + max(0, task.get("log_tail", 0) - tail_lines)


def record_progress_of_holder(db, task_id, run, worker, seq, ended, progress, moment):
    """Record `progress` (report `seq` of `run`) when `worker` holds the task, in that run, next in order,
    and the task is in none of the `ended` statuses; True if it was recorded."""
    return db.tasks.update_one(
        {"_id": task_id, "run": run, "worker": worker, "last_seq": {"$lt": seq}, "status": {"$nin": list(ended)}},
        {"$set": {"last_seq": seq, "last_report_at": moment, "progress": progress}}).modified_count == 1
