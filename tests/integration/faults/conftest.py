"""A pipeline stack of its own (database `faults`): these tests stop its broker, warehouse and content servers."""

import pymongo
import pytest

from cardshop.beat.invariant import UNFINISHED, stranded_orders
from devstack.pipeline import Pipeline
from tests.conftest import TEST_AUTH

DB_NAME = "faults"


@pytest.fixture(scope="session")
def stack(tmp_path_factory, ferretdb):
    with Pipeline(str(tmp_path_factory.mktemp("faults")), ferretdb, auth=TEST_AUTH, db_name=DB_NAME).running() as pipeline:
        yield pipeline


@pytest.fixture(scope="session")
def db(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    yield client[DB_NAME]
    client.close()


def assert_no_order_stranded(db):
    """Every order is progressing, ended with a reason, or waiting visibly (cardshop.beat.invariant)."""
    stranded = [(order["_id"], why) for order, why in stranded_orders(db, statuses=UNFINISHED)]
    assert stranded == []


@pytest.fixture(scope="session")
def beat(stack):
    """The stack's beat; tests speed up the jobs they need through /schedules."""
    server = stack.start_beat()
    yield server
    server.stop()


def schedule(stack, name, **change):
    reply = stack.admin.patch(f"/schedules/{name}", change)
    assert reply.status == 200, reply.body
