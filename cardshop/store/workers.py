"""The `workers` collection: one document per worker process (`<user>@<host>`, a writer's slots
`<user>@<host>.slot-<N>`), filed from its heartbeats by the monitor. Each write adds one to its
`version`: how many times the monitor wrote it (operators and tests see how often heartbeats cost a write).

Only the monitor sets fields of these documents; others only delete them (the API when an operator
unregisters slots, the beat when a worker is unseen for long): monitor/workers.py relies on it."""

from pymongo import ReturnDocument, UpdateOne


def find(db, worker, projection=None):
    return db.workers.find_one({"_id": worker}, projection)


def file_heartbeat(db, worker, changes, moment):
    """Set `changes` on the worker's document, creating it (first seen at `moment`); the document before,
    or None. One round trip: the previous document is only told, never compared against (FerretDB 1.24
    runs it as a read then a write, and takes no projection with it)."""
    return db.workers.find_one_and_update({"_id": worker}, {"$set": changes, "$setOnInsert": {"first_seen": moment},
                                                            "$inc": {"version": 1}},
                                          upsert=True, return_document=ReturnDocument.BEFORE)


def refresh_heartbeats(db, changes):
    """Set each worker's changes ({name: changes}) in one bulk write (one round trip); the names whose
    document is gone.

    A refresh never creates a document: one deleted meanwhile (an operator unregistered the slot, the
    beat expired the worker) stays deleted, and the caller files the worker's next heartbeat as a new one.
    """
    if not changes:
        return []
    result = db.workers.bulk_write([UpdateOne({"_id": name}, {"$set": fields, "$inc": {"version": 1}})
                                    for name, fields in changes.items()], ordered=False)
    if result.matched_count == len(changes):
        return []
    found = {doc["_id"] for doc in db.workers.find({"_id": {"$in": list(changes)}}, {"_id": 1})}
    return [name for name in changes if name not in found]


def named(db, name=None):
    """Every worker (name None), or those of `<user>@<host>` `name`: itself and its slot workers."""
    username, _, host = (name or "").partition("@")
    return db.workers.find({} if name is None else {"$or": [{"_id": name}, {"username": username, "host": host}]})


def names_and_slots(db):
    """Every worker's name, with its slot number for a slot worker (a page of hosts is chosen from these)."""
    return db.workers.find({}, {"slot.number": 1})


def of_names(db, names):
    return db.workers.find(of_names_filter(names))


def of_names_filter(names):
    return {"_id": {"$in": list(names)}}


def live_writers_at(db, moment):
    """The writer hosts' workers online and live at `moment` (their `live_until`, which the monitor sets
    from each heartbeat and its `monitor.writer_timeout`, is not past)."""
    return db.workers.find(live_writers_filter(moment))


def live_writers_filter(moment):
    return {"live_until": {"$gte": moment}, "role": "writer", "online": True}


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


def refusing_slots(db):
    """The writer slots' records whose state is `refused` now."""
    return db.workers.find(refusing_slots_filter(), {"slot": 1})


def refusing_slots_filter():
    return {"slot.state": "refused"}


def writers_gone_quiet(db, since, moment):
    """The writer workers (slots) whose `live_until` passed between `since` and `moment`."""
    return db.workers.find(gone_quiet_filter(since, moment), {"username": 1, "host": 1, "live_until": 1,
                                                              "last_seen": 1})


def gone_quiet_filter(since, moment):
    return {"live_until": {"$gte": since, "$lt": moment}, "role": "writer"}


def host_live_at(db, username, host, moment):
    """True while a worker of `username` on `host` is live at `moment` (its `live_until` not past)."""
    return db.workers.find_one(host_live_filter(username, host, moment), {"_id": 1}) is not None


def host_live_filter(username, host, moment):
    return {"username": username, "host": host, "live_until": {"$gte": moment}}
