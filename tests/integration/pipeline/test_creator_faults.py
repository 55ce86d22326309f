"""The creator killed or canceled mid-build."""

import contextlib
import os
import time

import pytest

from devstack import samples
from devstack.processes import wait_until
from devstack.servers import ContentServer
from tests.integration.pipeline.test_creator import place
from tests.integration.pipeline.test_monitor import create_task_of, order_in, order_of, pipeline_task

RATE = 4 * 1024 * 1024  # bytes/s: slow enough to act mid-download


@pytest.fixture(scope="module")
def slow_content(pipeline):
    server = ContentServer(pipeline.base, name="slow-content", rate=RATE)
    server.start()
    big = samples.make_random_file(server.root, "big.zim", 24 * 1024 * 1024)
    yield server, {"to": "/data/big.zim", "url": f"{server.url}/big.zim", "checksum": samples.checksum(big)}
    server.stop()


def children_of(pid):
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(entry) != pid and (int(fields[1]) == pid or int(fields[3]) == pid):  # child, or in its session
                found.append(int(entry))
    return found


@contextlib.contextmanager
def downloading(pipeline, big, name):
    """A creator of its own, busy downloading a slow order: (creator, order). The creator stops after."""
    creator = pipeline.start_creator(name=name)
    try:
        order = place(pipeline, {"output": {"size": "128M"}, "files": [big]})
        wait_until(lambda: pipeline_task(pipeline, order["_id"])["status"] == "downloading", timeout=60)
        yield creator, order
    finally:
        creator.stop()


def ended(pipeline, order, timeout):
    done = order_in(pipeline, order["_id"], ("ready", "creation_failed"), timeout=timeout)
    assert done["status"] == "ready", create_task_of(done).get("reason")
    return done


@pytest.mark.fault  # kills or restarts a server: the fault tier
def test_a_creator_killed_mid_build_gets_its_task_redelivered_and_the_order_completes(pipeline, slow_content):
    with downloading(pipeline, slow_content[1], "doomed-creator") as (creator, order):
        time.sleep(1)
        creator.process.kill9()
        creator.start()  # the same host comes back; RabbitMQ redelivers the unacknowledged task
        assert create_task_of(ended(pipeline, order, 180))["runs"] == 2


def test_canceling_mid_build_stops_the_work_and_leaves_nothing_behind(pipeline, slow_content):
    with downloading(pipeline, slow_content[1], "cancel-creator") as (creator, order):
        task_id = create_task_of(order_of(pipeline, order["_id"]))["_id"]
        build = os.path.join(creator.config["creator"]["build_dir"], task_id)
        assert os.path.isdir(build)
        started = time.monotonic()
        assert pipeline.admin.post(f"/orders/{order['_id']}/cancel", {"reason": "changed mind"}).status == 200
        wait_until(lambda: not os.path.exists(build), timeout=10)
        assert time.monotonic() - started < 10
        pid = creator.process.pid
        wait_until(lambda: children_of(pid) == [], timeout=5)
        assert order_of(pipeline, order["_id"])["status"] == "canceled"
        # The creator takes the next order as usual.
        after = place(pipeline, {"output": {"size": "64M"}, "files": [{"to": "/data/x.txt", "content": "x"}]})
        wait_until(lambda: order_of(pipeline, after["_id"])["status"] == "ready", timeout=90)


@pytest.mark.fault  # kills or restarts a server: the fault tier
def test_a_broker_restart_mid_build_still_ends_with_the_image(pipeline, slow_content):
    with downloading(pipeline, slow_content[1], "restart-creator") as (_, order):
        pipeline.rabbitmq.restart()
        assert ended(pipeline, order, 240)["image"]["sha256"]


@pytest.mark.fault  # kills or restarts a server: the fault tier
def test_a_database_restart_mid_build_still_ends_with_the_image(pipeline, slow_content):
    with downloading(pipeline, slow_content[1], "dbrestart-creator") as (_, order):
        pipeline.ferretdb.kill9()
        time.sleep(3)
        pipeline.ferretdb.start()
        ended(pipeline, order, 240)
