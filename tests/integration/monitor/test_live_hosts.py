"""A live writer host is defined once: the monitor files `live_until` from its `writer_timeout`, and the
placement that the beat and the API build (without any setting of their own) reads it."""

import datetime
import time
import uuid

import pymongo
import pytest

from cardshop.auth import roles
from cardshop.beat.jobs import Context
from cardshop.domain.placement import Placement
from cardshop.monitor.apply import APPLIED
from cardshop.monitor.workers import WorkerRegistry
from cardshop.store import writer_slots
from cardshop.store.db import ensure_indexes


@pytest.fixture
def db(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    database = client["unit_live_hosts"]
    ensure_indexes(database)
    yield database
    client.drop_database("unit_live_hosts")
    client.close()


def heartbeat(username):
    return {"worker": f"{username}@desk.slot-1", "online": True, "slots": 1, "images": [], "slot": {
        "number": 1, "state": "ready", "message": None, "card": {"size": 4 * 10 ** 9, "serial": None},
        "task": None, "order": None, "step": None, "percent": None, "rate": None}}


def test_the_monitors_writer_timeout_decides_liveness_for_the_beat_and_the_api(db):
    username = f"live{uuid.uuid4().hex[:8]}"
    writer_slots.replace_host(db, username, "desk", [{"number": 1, "reader": {"ID_PATH": "x"}}], "admin",
                              datetime.datetime.now(datetime.timezone.utc))
    registry = WorkerRegistry(db, lambda name: roles.WRITER if name == username else None, live_for=2)
    assert registry.on_heartbeat(heartbeat(username), username) == APPLIED
    record = db.workers.find_one({"_id": f"{username}@desk.slot-1"})
    assert record["live_until"] - record["last_seen"] == datetime.timedelta(seconds=2)
    # The beat's placement and the API's (a bare Placement) have no time-out of their own.
    assert username in Context(db, publisher=None).cascades.placement.live_hosts()
    assert username in Placement(db).live_hosts()
    time.sleep(2.5)  # no heartbeat for longer than the monitor's writer_timeout
    assert username not in Placement(db).live_hosts()
