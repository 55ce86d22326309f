"""A whole pipeline stack (scheduler publishing tasks, RabbitMQ asking it, the monitor applying reports),
shared by the pipeline and security tests."""

import pytest

from devstack.pipeline import Pipeline
from tests.conftest import TEST_AUTH


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, ferretdb):
    stack = Pipeline(str(tmp_path_factory.mktemp("pipeline")), ferretdb, auth=TEST_AUTH)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def pipeline_db(ferretdb):
    import pymongo
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    yield client["pipeline"]
    client.close()


def dropped(pipeline_db, *reasons):
    """Messages the monitor dropped so far (for these reasons), from the counters it saves."""
    counts = (pipeline_db.monitor_stats.find_one({"_id": "dropped"}) or {}).get("counts", {})
    return sum(counts.get(reason, 0) for reason in reasons) if reasons else sum(counts.values())


def register_slots(admin, username, host, numbers, devices=None):
    """Register slots `numbers` of writer `username`'s host `host` as an operator does, so that their heartbeats
    are filed; `devices` maps a number to its reader's device (a loop device standing in, by default)."""
    devices = devices or {}
    body = {"slots": [{"number": number, "reader": {"match": {"DEVNAME": devices.get(number, f"/dev/loop{number}")},
                                                    "device": devices.get(number, f"/dev/loop{number}")}}
                      for number in numbers]}
    reply = admin.request("PUT", f"/writer-hosts/{username}@{host}/slots", body)
    assert reply.status == 200, reply
    return reply.body
