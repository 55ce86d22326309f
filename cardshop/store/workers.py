"""The `workers` collection: one document per worker process (`<user>@<host>`, a writer's slots
`<user>@<host>.slot-<N>`), filed from its heartbeats by the monitor."""


def find(db, worker, projection=None):
    return db.workers.find_one({"_id": worker}, projection)


def file_heartbeat(db, worker, changes, moment):
    """Set `changes` on the worker's document, creating it (first seen at `moment`); the document before, or None."""
    previous = find(db, worker, {"online": 1})
    db.workers.update_one({"_id": worker}, {"$set": changes, "$setOnInsert": {"first_seen": moment}}, upsert=True)
    return previous


def named(db, name=None):
    """Every worker (name None), or those of `<user>@<host>` `name`: itself and its slot workers."""
    username, _, host = (name or "").partition("@")
    return db.workers.find({} if name is None else {"$or": [{"_id": name}, {"username": username, "host": host}]})


def online_writers_seen_since(db, moment):
    """The writer hosts' workers online and seen since `moment`."""
    return db.workers.find(online_writers_filter(moment))


def online_writers_filter(moment):
    return {"last_seen": {"$gte": moment}, "role": "writer", "online": True}


def slot_busy_with(db, writer, task_id, moment):
    """True while an online slot of host `writer`, seen since `moment`, says it works on the task."""
    return db.workers.find_one({**seen_since_filter(writer, moment), "slot.task": task_id, "online": True},
                               {"_id": 1}) is not None


def seen_since(db, username, moment):
    """True when a worker of `username` was seen since `moment`."""
    return db.workers.find_one(seen_since_filter(username, moment), {"_id": 1}) is not None


def seen_since_filter(username, moment):
    return {"username": username, "last_seen": {"$gte": moment}}


def names_of(db, username):
    """The names (`_id`s) of every worker record of `username`."""
    return [doc["_id"] for doc in db.workers.find({"username": username}, {"_id": 1})]


def writer_records(db):
    """(name, username) of every writer's worker record (its host-wide and slot records)."""
    return [(doc["_id"], doc.get("username")) for doc in db.workers.find({"role": "writer"}, {"username": 1})]


def delete(db, names):
    """Delete these worker records; how many there were."""
    return db.workers.delete_many({"_id": {"$in": list(names)}}).deleted_count if names else 0


def delete_unseen_since(db, moment):
    """Delete the records of workers not seen since `moment`; how many."""
    return db.workers.delete_many(unseen_since_filter(moment)).deleted_count


def unseen_since_filter(moment):
    return {"last_seen": {"$lt": moment}}
