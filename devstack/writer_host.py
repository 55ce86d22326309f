"""The local stack's writer host: a writer user, its writer.yaml and slots.yaml, one cardshop-writer per slot.

Loop devices from the reader pool (devstack/cards.py) stand in for the
slots' card readers; `card-insert`/`card-remove` put blank cards in and
take them out, as an operator would.
"""

import json
import os
import re
import sys

import yaml

from cardshop.pipeline import topology
from cardshop.pipeline.celery_app import make_celery
from cardshop.writer_helper import configure, readers, registration, slots
from devstack import cards
from devstack.processes import Process, StackError
from devstack.servers import REPO, _wait_for_new_log

PROGRAM = os.path.join(REPO, "daemons", "cardshop-writer")
READY_LOG = "ready: slot"
FOLDER = "writer-host"
SIZE = re.compile(r"^([0-9]+)([KMGT]?)B?$", re.IGNORECASE)
UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}  # cards are sold in decimal units


class Writer:
    """One slot: `daemons/cardshop-writer --config writer.yaml --slot N`, ready once it logs so."""

    def __init__(self, folder, config_path, slot):
        self.slot = slot
        self.config_path = config_path
        self.process = Process(f"writer-{slot}", folder)

    def start(self):
        log = self.process.log_path
        offset = os.path.getsize(log) if os.path.exists(log) else 0
        self.process.start([sys.executable, PROGRAM, "--config", self.config_path, "--slot", str(self.slot)],
                           cwd=REPO)
        _wait_for_new_log(self.process, offset, READY_LOG, 90, f"cardshop-writer --slot {self.slot}")

    def stop(self):
        return self.process.stop()


class WriterHost:
    """A writer host of `len(devices)` slots, slot i reading from devices[i-1], as writer user `username`."""

    def __init__(self, base, api_url, broker_url, username, password_file, devices, admin=None):
        self.dir = os.path.join(base, FOLDER)
        self.admin = admin  # {"username", "password"}: who registers the slots, as the host's operator would
        self.username = username
        self.config_path = os.path.join(self.dir, "writer.yaml")
        self.slots_path = os.path.join(self.dir, "slots.yaml")
        self.devices = list(devices)
        self.answers = {"scheduler": api_url, "broker": broker_url, "username": username,
                        "password_file": password_file}
        self.password_file = password_file
        self.writers = [Writer(self.dir, self.config_path, number) for number in range(1, len(devices) + 1)]

    @property
    def slots(self):
        return [{"slot": number, "device": device} for number, device in enumerate(self.devices, 1)]

    def write_config(self):
        """slots.yaml and writer.yaml, made by the writer-helper's own functions."""
        mapping = [slots.entry(number, readers.identify(device)) for number, device in enumerate(self.devices, 1)]
        slots.write(self.slots_path, mapping)
        config = configure.document(self.answers, self.password_file, self.slots_path)
        config["broker"]["heartbeat"] = 10
        config["writer"]["cache_dir"] = os.path.join(self.dir, "images")
        config["writer"]["runtime_dir"] = os.path.join(self.dir, "run")  # the slots' state, for the helper
        with open(self.config_path, "w") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)

    def register(self):
        """Register the slots with the scheduler (the helper's `register`): their heartbeats are filed then."""
        if self.admin is None:
            raise StackError("the writer host's slots need an operator's or admin's login to be registered")
        try:
            return registration.register_host(registration.writer_config(self.config_path), self.admin["username"],
                                              self.admin["password"], slots.read(self.slots_path))
        except registration.RegistrationError as exc:
            raise StackError(f"cannot register the writer host's slots: {exc}") from None

    def start(self):
        if not os.path.exists(PROGRAM):
            raise StackError(f"{PROGRAM} does not exist yet")
        os.makedirs(self.dir, exist_ok=True)
        self.write_config()
        self.register()
        started = []
        try:
            for writer in self.writers:
                writer.start()
                started.append(writer)
        except StackError:
            for writer in started:
                writer.stop()
            raise

    def stop(self):
        return any([writer.stop() for writer in reversed(self.writers)])


def declare_queue(broker_url, system_password_file, username):
    """The host's queue `write.<username>`, declared by the system user (workers may not declare), so that
    a slot with a fresh card consumes from it before the first task is published there."""
    app = make_celery({"url": broker_url, "username": "cardshop-system", "password_file": system_password_file,
                       "heartbeat": 10}, "devstack-writer-host")
    try:
        with app.connection_for_write() as connection:
            topology.declare_write_queue(connection, username)
    except Exception as exc:  # kombu's connection errors vary with the transport
        raise StackError(f"cannot declare write.{username}: {exc}") from None


def processes(base):
    """The slot processes a stack under `base` started (from their PID files)."""
    folder = os.path.join(base, FOLDER)
    names = sorted(name[:-4] for name in os.listdir(folder) if re.match(r"^writer-[0-9]+\.pid$", name)) \
        if os.path.isdir(folder) else []
    return [Process(name, folder) for name in names]


# -- cards --------------------------------------------------------------------

def parse_size(text):
    """Bytes of a card size such as 2G, 512M or 1000000 (decimal units, as cards are sold)."""
    match = SIZE.match(str(text).strip())
    if not match or int(match.group(1)) == 0:
        raise StackError(f"card size {text!r}: expected a number with K, M, G or T, e.g. 2G")
    return int(match.group(1)) * UNITS[match.group(2).upper()]


def _slot_device(state_path, slot):
    try:
        with open(state_path) as handle:
            state = json.load(handle)
    except FileNotFoundError:
        raise StackError(f"no stack: {state_path} does not exist; run `make up` first") from None
    except (OSError, ValueError) as exc:
        raise StackError(f"cannot read {state_path}: {exc}") from None
    known = state.get("slots") or []
    if not known:
        raise StackError(f"the stack has no writer host (no slots in {state_path})")
    try:
        number = int(slot)
    except (TypeError, ValueError):
        raise StackError(f"SLOT={slot!r}: expected a slot number") from None
    for item in known:
        if item["slot"] == number:
            return number, item["device"]
    raise StackError(f"no slot {number}: the stack's slots are " + ", ".join(str(item["slot"]) for item in known))


def insert_card(state_path, slot, size, folder):
    """Put a fresh blank card of `size` into the slot's loop device; returns the card's backing file."""
    number, device = _slot_device(state_path, slot)
    try:
        return cards.insert(device, folder, parse_size(size), name=f"slot-{number}-{os.urandom(4).hex()}.img")
    except cards.CardError as exc:
        raise StackError(f"slot {number}: {exc}") from None


def remove_card(state_path, slot):
    """Take the card out of the slot's loop device; returns its backing file (kept, to look at)."""
    number, device = _slot_device(state_path, slot)
    path = cards.backing_file(device)
    if path is None:
        raise StackError(f"slot {number} ({device}) holds no card")
    try:
        cards.remove(device)
    except cards.CardError as exc:
        raise StackError(f"slot {number}: {exc}") from None
    return path
