"""The beat's expire_workers job: worker records unseen for a while go, and so do unregistered writer slots'."""

import datetime

from cardshop.beat.jobs import DEFAULT_SCHEDULES, Context, expire_workers
from cardshop.store import now, writer_slots
from tests.conftest import unique

READER = {"match": {"DEVNAME": "/dev/loop4"}, "device": "/dev/loop4"}


def filed(db, name, role, seen):
    """A worker record as the monitor files it from a heartbeat `seen` ago."""
    username, _, host = name.partition("@")
    db.workers.replace_one({"_id": name}, {"username": username, "host": host.split(".slot-")[0], "role": role,
                                           "online": True, "last_seen": now() - seen}, upsert=True)


def test_records_unseen_for_a_day_go_and_the_others_stay(db):
    creator, writer = unique("crea"), unique("writ")
    writer_slots.replace_host(db, writer, "rack", [{"number": 1, "reader": READER}], "ada", now())
    day, minute = datetime.timedelta(days=1, seconds=5), datetime.timedelta(minutes=1)
    filed(db, f"{creator}@old", "creator", day)
    filed(db, f"{creator}@fresh", "creator", minute)
    filed(db, f"{writer}@rack.slot-1", "writer", day)
    filed(db, f"{writer}@rack", "writer", minute)
    summary = expire_workers(Context(db, publisher=None), after=86400)
    assert summary["unseen"] >= 2
    names = {doc["_id"] for doc in db.workers.find({"username": {"$in": [creator, writer]}})}
    assert names == {f"{creator}@fresh", f"{writer}@rack"}


def test_records_of_slots_and_hosts_no_longer_registered_go_at_the_next_run(db):
    writer = unique("writ")
    writer_slots.replace_host(db, writer, "rack", [{"number": 1, "reader": READER}], "ada", now())
    recent = datetime.timedelta(seconds=5)
    for name in (f"{writer}@rack.slot-1", f"{writer}@rack.slot-2", f"{writer}@rack", f"{writer}@elsewhere"):
        filed(db, name, "writer", recent)  # slot 2 and host `elsewhere`: filed a moment before they went
    summary = expire_workers(Context(db, publisher=None))
    assert summary["unregistered"] >= 2
    assert {doc["_id"] for doc in db.workers.find({"username": writer})} == {f"{writer}@rack.slot-1", f"{writer}@rack"}


def test_the_job_is_scheduled_by_default():
    assert {"name": "expire-workers", "job": "expire_workers", "every": 600,
            "params": {"after": 86400}} in DEFAULT_SCHEDULES
