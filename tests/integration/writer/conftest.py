"""Writer slots for real: cardshop-writer daemons on loop devices, with the pipeline stack behind them.

Images are made here (tests/unit/writer/conftest.py: a sparse image and the
creator's outputs), put in the warehouse's folder as a creator's upload would
be, and reported `done` for a physical order's create task, so the monitor
makes the write tasks and publishes them to the writer host's queue.
"""

import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
import yaml

from cardshop.pipeline.celery_app import make_celery
from cardshop.pipeline.heartbeat import MAX_SLOTS, Heartbeat
from cardshop.pipeline.reports import Reporter
from devstack import cards
from devstack.processes import wait_until
from devstack.servers import Daemon, _wait_for_new_log
from tests.conftest import order_body
from tests.integration.claiming import accepted
from tests.integration.conftest import monitor_log_tail, register_slots
from tests.integration.pipeline.test_monitor import create_task_of, order_of, take_message
from tests.integration.security.writer_host import only_these_writers
from tests.unit.config.test_load import REPO
from tests.unit.writer.conftest import MiB, make_image

CARD = 128 * MiB
HOST = socket.gethostname()  # what the slots (cardshop-writer) call their host


class WriterSlot(Daemon):
    """cardshop-writer --slot N for one loop device, in a host folder its slots share (the image cache)."""

    PROGRAM, READY_LOG = "cardshop-writer", "ready: slot"

    def __init__(self, pipeline, host_dir, username, number, device, capacity_check=True):
        self.number, self.device, self.host_dir = number, device, host_dir
        slots_file = os.path.join(host_dir, "slots.yaml")
        super().__init__(host_dir, f"slot-{number}", {
            "broker": {"url": pipeline.rabbitmq.url, "username": username, "heartbeat": 10,
                       "password_file": os.path.join(pipeline.scheduler.secrets, f"{username}.password")},
            "scheduler": {"api_url": pipeline.scheduler.url},
            "writer": {"slots_file": slots_file, "cache_dir": os.path.join(host_dir, "images"),
                       "runtime_dir": os.path.join(host_dir, "run"), "capacity_check": capacity_check,
                       "retry_window": 5},
            "logging": {"level": "info"},
        })

    def start(self, env=None):
        os.makedirs(self.dir, exist_ok=True)
        with open(self.config_path, "w") as handle:
            yaml.safe_dump(self.config, handle, sort_keys=False)
        offset = os.path.getsize(self.process.log_path) if os.path.exists(self.process.log_path) else 0
        self.process.start([sys.executable, os.path.join(REPO, "daemons", self.PROGRAM), "--config",
                            self.config_path, "--slot", str(self.number)], cwd=REPO, env=env)
        _wait_for_new_log(self.process, offset, self.READY_LOG, 60, self.PROGRAM)

    def log(self):
        with open(self.process.log_path, errors="replace") as handle:
            return handle.read()

    def wait_log(self, needle, timeout=60):
        return wait_until(lambda: needle in self.log() and needle, timeout=timeout)


class WriterHost:
    """A writer user with N slots (one daemon each) on the given loop devices."""

    def __init__(self, pipeline, base, devices, **settings):
        self.pipeline = pipeline
        self.username, _, self.app = pipeline.worker("writer")
        self.dir = os.path.join(base, self.username)
        os.makedirs(self.dir, exist_ok=True)
        with open(os.path.join(self.dir, "slots.yaml"), "w") as handle:
            yaml.safe_dump({"slots": [{"slot": number, "match": {"DEVNAME": device}, "device": device}
                                      for number, device in enumerate(devices, 1)]}, handle)
        self.slots = [WriterSlot(pipeline, self.dir, self.username, number, device, **settings)
                      for number, device in enumerate(devices, 1)]
        self.cards_dir = os.path.join(self.dir, "cards")

    def start(self, env=None):
        # Its slots are registered, as the writer-helper does, under the name the slots give their host.
        register_slots(self.pipeline.admin, self.username, HOST, [slot.number for slot in self.slots],
                       {slot.number: slot.device for slot in self.slots})
        # The scheduler routes write tasks to live writer hosts: announce this one before its slots'
        # first heartbeats, with all its slots free, so that it gets this test's tasks at once
        # (other tests' hosts may look live for a while), and say it is gone at the end.
        self.announce().send()
        wait_until(lambda: self.pipeline.admin.get(f"/workers/{self.username}@{HOST}").status == 200)
        for slot in self.slots:
            slot.start(env)
        return self

    def announce(self):
        return Heartbeat(self.app, self.username, HOST, lambda: {"slots": MAX_SLOTS, "active": 0})

    def stop(self):
        self.announce().send(online=False)
        for slot in self.slots:
            slot.stop()
        for slot in self.slots:
            cards.remove(slot.device)

    @property
    def queue(self):
        return f"write.{self.username}"

    def insert(self, slot, size=CARD, name=None):
        return cards.insert(self.slots[slot - 1].device, self.cards_dir, size, name)

    def remove(self, slot):
        cards.remove(self.slots[slot - 1].device)


@pytest.fixture
def writer_host(pipeline, pipeline_db, tmp_path):
    """Start a host: writer_host(slots=2) -> WriterHost; stopped (cards out) after the test."""
    hosts = []

    def start(slots=1, env=None, **settings):
        host = WriterHost(pipeline, str(tmp_path), cards.take_readers(slots), **settings)
        hosts.append(host)
        only_these_writers(pipeline_db, *hosts)  # earlier tests' hosts may still look live: unplug them
        return host.start(env)

    yield start
    for host in hosts:
        host.stop()


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return make_image(str(tmp_path_factory.mktemp("image")))


def physical_order(pipeline, image, quantity=1):
    """A physical order whose create task is done with `image` in the warehouse; its write tasks follow."""
    creator, _, app = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body(quantity=quantity)).body
    task_id = create_task_of(order)["_id"]
    _, kwargs = take_message(app, "create", task_id)
    folder = os.path.join(pipeline.warehouse.root, task_id)
    os.makedirs(folder, exist_ok=True)
    name = order["_id"]
    for key, suffix in (("image", ".img.zst"), ("bmap", ".bmap")):
        shutil.copyfile(image["paths"][key], os.path.join(folder, name + suffix))
    with open(os.path.join(folder, name + ".sha256"), "w") as handle:
        handle.write(f"{image['sha256']}  {name}.img\n")
    reporter = Reporter(app, creator, task_id, run=accepted(app, creator, kwargs))
    reporter.status("done", result={
        "warehouse": "main", "folder": task_id,
        "files": {"image": f"/{task_id}/{name}.img.zst", "bmap": f"/{task_id}/{name}.bmap",
                  "sha256": f"/{task_id}/{name}.sha256"},
        "sha256": image["sha256"], "image_size": image["image_size"],
        "compressed_size": image["compressed_size"], "mapped_size": image["mapped_size"],
        "card_size": 4, "data_offset": 0})
    published_writes(pipeline, order["_id"], quantity)
    return order_of(pipeline, order["_id"])


def published_writes(pipeline, order_id, quantity, timeout=150):
    """Until the order has `quantity` write tasks, all published; else an AssertionError that says where it stuck.

    The pipeline's monitor is shared by the whole session: it checks the image in the warehouse first, and on
    a loaded machine it may still be working through an earlier test's flood of reports.
    """
    def published():
        tasks = write_tasks(pipeline, order_id)
        return len(tasks) == quantity and all(task.get("published_at") for task in tasks)

    try:
        wait_until(published, timeout=timeout)
    except AssertionError:
        order = order_of(pipeline, order_id)
        tasks = [{key: task.get(key) for key in ("_id", "kind", "status", "writer", "published_at")}
                 for task in order.get("tasks", [])]
        raise AssertionError(f"order {order_id} ({order.get('status')}) has no {quantity} published write "
                             f"task(s) after {timeout} s: tasks {tasks}; monitor log tail:\n"
                             f"{monitor_log_tail(pipeline, 15)}") from None


def write_tasks(pipeline, order_id):
    return [task for task in order_of(pipeline, order_id)["tasks"] if task["kind"] == "write"]


def queued(pipeline, queue):
    """(messages ready, consumers) of a queue, as RabbitMQ counts them."""
    app = make_celery({"url": pipeline.rabbitmq.url, "username": "cardshop-system",
                       "password_file": pipeline.system_password_file, "heartbeat": 10}, "test-queue-count")
    with app.connection_for_write() as connection:
        declared = connection.default_channel.queue_declare(queue, passive=True)
    return declared.message_count, declared.consumer_count


def wait_until_or_none(predicate, timeout):
    try:
        return wait_until(predicate, timeout=timeout, interval=0.5)
    except AssertionError:
        return None


def card_hash(path, size):
    import hashlib
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read(size)).hexdigest()


class SlowCard:
    """A FUSE card (tests/unit/writer/fakecard.py): honest and writing at `rate` bytes/s (time to act
    mid-write), or, with `real` < `size`, lying about its size (wrapping around `real` bytes)."""

    def __init__(self, folder, size=CARD, rate=0, real=None):
        self.mountpoint = os.path.join(folder, f"slow-{time.monotonic_ns()}")
        os.makedirs(self.mountpoint)
        self.backing = self.mountpoint + ".flash"
        with open(self.backing, "wb") as handle:
            handle.truncate(real or size)
        self.process = subprocess.Popen([sys.executable, "-m", "tests.unit.writer.fakecard", self.mountpoint,
                                         self.backing, str(size), str(rate)], cwd=REPO,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.path = os.path.join(self.mountpoint, "card.img")
        wait_until(lambda: os.path.exists(self.path), timeout=15)

    def insert(self, device):
        subprocess.run(["losetup", device, self.path], check=True)

    def close(self):
        held = subprocess.run(["losetup", "-j", self.path], capture_output=True, text=True).stdout
        for line in held.splitlines():  # still in a reader: take it out first
            subprocess.run(["losetup", "-d", line.split(":")[0]], check=False)
        # A slot still writing keeps the detached loop device, and so the mount, busy until it lets go.
        if not wait_until_or_none(lambda: subprocess.run(["umount", self.mountpoint], capture_output=True)
                                  .returncode == 0, timeout=10):
            subprocess.run(["umount", "--lazy", self.mountpoint], check=False)  # gone once let go
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def slow_card(tmp_path):
    made = []

    def make(**kwargs):
        card = SlowCard(str(tmp_path), **kwargs)
        made.append(card)
        return card

    yield make
    for card in made:
        card.close()


def written(pipeline, order_id, count=1, timeout=90):
    return wait_until(lambda: (lambda tasks: len(tasks) == count and tasks)(
        [task for task in write_tasks(pipeline, order_id) if task["status"] == "written"]), timeout=timeout)


def task_status(pipeline, order_id, statuses, timeout=60):
    return wait_until(lambda: next((task for task in write_tasks(pipeline, order_id)
                                    if task["status"] in statuses), None), timeout=timeout)


def written_on_a_new_card(pipeline, host, image, order, slot=1):
    """Insert a good card into the slot and see the order's task written on it."""
    path = host.insert(slot)
    written(pipeline, order["_id"])
    assert card_hash(path, image["image_size"]) == image["sha256"]


def slow_write(pipeline, host, image, slow_card, step, rate=2 * MiB):
    """A slow card in slot 1, an order for it, and the card once the slot reports `step`; (order, card)."""
    card = slow_card(rate=rate)
    card.insert(host.slots[0].device)
    host.slots[0].wait_log("ready (card of")
    order = physical_order(pipeline, image)
    task_status(pipeline, order["_id"], (step,))
    return order, card
