"""The `schedules` collection: the beat's jobs, names unique (index)."""

from cardshop.store.commits import unique


class ScheduleExists(Exception):
    """A schedule of that name exists already."""


def find(db, name):
    return db.schedules.find_one({"name": name})


def insert(db, doc):
    with unique(lambda: ScheduleExists(f"schedule {doc['name']!r} exists")):
        db.schedules.insert_one(doc)


def update(db, name, changes, unset=()):
    """Set `changes` and drop the fields in `unset` (timing is `every` or `crontab`, never both)."""
    update = {"$set": changes}
    if unset:
        update["$unset"] = {key: "" for key in unset}
    db.schedules.update_one({"name": name}, update)


def delete(db, name):
    db.schedules.delete_one({"name": name})


def insert_if_missing(db, doc):
    """Insert `doc` unless a schedule of its name exists (an admin's edits are kept)."""
    db.schedules.update_one({"name": doc["name"]}, {"$setOnInsert": doc}, upsert=True)


def enabled(db):
    return db.schedules.find({"enabled": True})


def record_runs(db, name, last_run_at, total_run_count):
    """Write back when the schedule last ran and how often."""
    db.schedules.update_one({"name": name}, {"$set": {"last_run_at": last_run_at, "total_run_count": total_run_count}})


def last_runs(db):
    """{"name", "job", "last_duration"} of each schedule that has run (the schedules are a handful)."""
    return [doc for doc in db.schedules.find({}, {"_id": 0, "name": 1, "job": 1, "last_duration": 1})
            if isinstance(doc.get("last_duration"), (int, float))]


def record_result(db, name, result, duration, finished_at):
    """Write how the schedule's last run ended (its summary, or the error) and how many seconds it took;
    the schedule's period ({"every": s}, or {} when it runs by crontab), or None when it is gone."""
    return db.schedules.find_one_and_update({"name": name}, {"$set": {
        "last_result": result, "last_duration": duration, "last_finished_at": finished_at}},
        projection={"_id": 0, "every": 1})
