"""Exactly the cards ordered: copies of a write task (the beat's republish, a redelivery after the task
ended) never become extra cards; each is refused at its claim and the card stays blank."""

import time

import pymongo
import pytest

from devstack.pipeline import Pipeline
from devstack.processes import wait_until
from tests.conftest import TEST_AUTH
from tests.integration.conftest import beat_running_only
from tests.integration.pipeline.test_monitor import order_of
from tests.integration.writer.conftest import (card_hash, physical_order, queued, task_status, write_tasks,
                                               written)

REPUBLISH_EVERY = 2  # seconds: the default 60 s makes copies too; more often makes more chances


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, ferretdb):
    """A pipeline of its own: the shared one holds earlier tests' unplaced tasks, which a republishing beat
    would rightly place on the only live host, this test's."""
    with Pipeline(str(tmp_path_factory.mktemp("exact")), ferretdb, auth=TEST_AUTH, db_name="exact").running() as stack:
        yield stack


@pytest.fixture(scope="module")
def pipeline_db(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    yield client["exact"]
    client.close()


@pytest.fixture
def busy_beat(pipeline):
    """The pipeline's beat looking every REPUBLISH_EVERY s for lost messages of tasks published 15 s ago, and
    doing nothing else. (A queue short for less than 15 s is a claim in flight; a loaded monitor applies one
    in a few seconds.)"""
    with beat_running_only(pipeline, "republish-pending", every=REPUBLISH_EVERY, params={"older_than": 15}) as beat:
        yield beat


def blank(path):
    """True when the card file holds no byte but zeros (it was never written)."""
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            if chunk.strip(b"\0"):
                return False
    return True


def test_write_tasks_waiting_for_cards_while_the_beat_republishes_become_exactly_the_cards_ordered(
        pipeline, writer_host, image, busy_beat):
    host = writer_host(slots=3)
    order = physical_order(pipeline, image, quantity=2)
    # No card for a while: the beat runs its republish job again and again.
    runs = lambda: pipeline.admin.get("/schedules/republish-pending").body["total_run_count"]  # noqa: E731
    before = runs()
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        assert [task.get("publications") for task in write_tasks(pipeline, order["_id"])] == [1, 1], \
            "a task waiting for a card is never published again"
        time.sleep(2)
    assert queued(pipeline, host.queue) == (2, 0)
    assert runs() - before >= 5, "the republish job ran"
    paths = [host.insert(1), host.insert(2)]
    written(pipeline, order["_id"], count=2)
    wait_until(lambda: order_of(pipeline, order["_id"])["status"] == "pending_shipment")
    for path in paths:
        assert card_hash(path, image["image_size"]) == image["sha256"]
    # A further fresh card stays blank: there is no copy left to write.
    third = host.insert(3)
    host.slots[2].wait_log("ready (card of")
    time.sleep(2 * REPUBLISH_EVERY + 2)
    assert blank(third) and "slot 3: busy" not in host.slots[2].log()
    assert len(order_of(pipeline, order["_id"])["cards"]) == 2
    assert sum(slot.log().count("written and verified; remove the card") for slot in host.slots) == 2


def test_a_copy_redelivered_after_its_task_was_written_leaves_the_next_card_blank(
        pipeline, writer_host, image, slow_card):
    host = writer_host(slots=2)
    card = slow_card(rate=1024 * 1024)  # 5 s of verifying
    card.insert(host.slots[0].device)
    host.slots[0].wait_log("ready (card of")
    order = physical_order(pipeline, image)
    task_status(pipeline, order["_id"], ("verifying",))
    # The slot's connections to the broker are cut before it can acknowledge: its message goes back to the
    # queue although the card is being verified, and the task ends `written` all the same.
    close_connections(pipeline, host.username)
    written(pipeline, order["_id"])
    wait_until(lambda: queued(pipeline, host.queue)[0] == 1, timeout=30)
    second = host.insert(2)
    host.slots[1].wait_log("the task is written", timeout=60)
    host.slots[1].wait_log("slot 2: ready", timeout=30)
    assert blank(second)
    assert [task["status"] for task in write_tasks(pipeline, order["_id"])] == ["written"]
    assert len(order_of(pipeline, order["_id"])["cards"]) == 1
    assert queued(pipeline, host.queue)[0] == 0, "the copy was dropped"


def close_connections(pipeline, username):
    pipeline.rabbitmq.ctl("close_all_user_connections", username, "test: the writer loses its broker connection")
