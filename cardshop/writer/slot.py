"""One slot's state, driven by udev events from its card reader.

    no_reader <-> empty -> checking -> ready -> busy -> done ----\\
                  ^  ^        \\-> refused   ^  \\-> failed --\\   |
                  |  |                      \\-- (image not    | |
                  |  \\------ card removed ------ obtained)     | |
                  \\--------------------------------------------/-/

A card is checked once, when it appears (a new disk sequence number means a
new card even if no removal was seen). Only `ready` consumes tasks. `done`,
`failed` and `refused` stay until the card is removed, so the same card never
gets a second task. Transitions are data (`TRANSITIONS`); `Slot.move` is the
one place that changes the state, and tells its listeners (the heartbeat,
systemd's STATUS, the state file, the worker's consumer).

Draining is beside the state, not one of them: a slot asked to drain (its host's
`cardshop-writer-helper drain`) takes no new task whatever its card, finishes the
one it has, and is stopped once idle; `take` checks both under one lock, so no
task can start once the drain is seen.
"""

import dataclasses
import logging
import threading
import time

import pyudev

from cardshop.pipeline.heartbeat import SLOT_STEPS
from cardshop.validation import short_id
from cardshop.writer import card as cards

log = logging.getLogger(__name__)

STATES = ("no_reader", "empty", "checking", "ready", "busy", "done", "failed", "refused")
_GONE = {"no_reader", "empty"}
TRANSITIONS = {
    "no_reader": {"empty", "checking"},
    "empty": {"no_reader", "checking"},
    "checking": {"ready", "refused", "empty", "no_reader", "checking"},
    "ready": {"busy", "refused", "empty", "no_reader", "checking"},
    "busy": {"done", "failed", "refused", "ready"},  # ready: the image could not be obtained, the card is untouched
    "done": _GONE | {"checking"},
    "failed": _GONE | {"checking"},
    "refused": _GONE | {"checking"},
}
RECHECK = 5.0  # seconds between looks at the reader when udev is silent (missed events)
# A card just inserted is held for a moment by udev's probes and the kernel's partition scan: a busy
# card is opened again for this long before it is refused as mounted or in use.
BUSY_GRACE = 10.0


class SlotError(Exception):
    """An illegal slot transition (a bug: the table above is the law)."""


@dataclasses.dataclass
class Job:
    task: str | None = None
    order: str | None = None
    step: str | None = None
    percent: float | None = None
    rate: float | None = None
    done: int | None = None  # bytes of the step done, of `total`; `eta` in seconds (the task's Ticker says)
    total: int | None = None
    eta: float | None = None


class Slot:
    """The state of slot `number` reading `device`; `check_capacity` runs the fake-capacity guard."""

    def __init__(self, number, device, match=None, check_capacity=True, serial=None):
        self.number = number
        self.device = device
        self.match = match or {}
        self.check_capacity = check_capacity
        self.state = "no_reader"
        self.since = time.time()  # when the slot entered its state
        self.draining = False
        self.message = ""
        self.card = None
        self.job = Job()
        self.listeners = []
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._stop = threading.Event()
        self._thread = None
        self._serial = serial  # a fixed serial (tests); else udev's

    # -- state ------------------------------------------------------------

    def move(self, state, message=""):
        with self._lock:
            if state not in TRANSITIONS[self.state] and state != self.state:
                raise SlotError(f"slot {self.number}: {self.state} -> {state} is not allowed")
            changed = (state, message) != (self.state, self.message)
            if state != self.state:
                self.since = time.time()
            self.state, self.message = state, message[:500]
            if state != "busy":
                self.job = Job()
            if state in _GONE:
                self.card = None
            self._changed.notify_all()
        if changed:
            log.info("slot %s: %s%s", self.number, state, f" ({message})" if message else "")
            self._tell()

    def progress(self, step, percent=None, rate=None, task=None, order=None, done=None, total=None, eta=None):
        """What the busy slot does: `step` is one of SLOT_STEPS, the only ones heartbeats carry; any
        other text (a retry's "warehouse unreachable, retry 2 in 4 s") is the message of step `waiting`."""
        with self._lock:
            if self.state != "busy":
                return
            if step in SLOT_STEPS:
                self.message = ""
            else:
                step, self.message = "waiting", str(step)[:500]
            self.job.step, self.job.percent, self.job.rate = step, percent, rate
            self.job.done, self.job.total, self.job.eta = done, total, eta
            if task:
                self.job.task, self.job.order = task, order
        self._tell()

    def _tell(self):
        for listener in self.listeners:
            try:
                listener(self)
            except Exception:  # a listener's failure (broker away) must not stop the slot
                log.exception("slot %s: listener failed", self.number)

    def wait_for(self, states, timeout):
        with self._lock:
            return self._changed.wait_for(lambda: self.state in states, timeout)

    def take(self):
        """ready -> busy for a task that arrived; False when the card is not ready or the slot drains (hand
        the task back)."""
        with self._lock:
            if not self.takes_tasks() or not self.card_still_there():
                return False
            self.move("busy")
            return True

    def takes_tasks(self):
        """Whether a task may start here now: a ready card, and no drain asked."""
        with self._lock:
            return self.state == "ready" and not self.draining

    def drain(self, requested=True):
        """Take no new task while `requested` (the host asked to stop this slot once it is idle)."""
        with self._lock:
            if requested == self.draining:
                return
            self.draining = requested
        log.info("slot %s: %s", self.number, "draining: takes no new task, stops once idle" if requested
                 else "drain withdrawn: takes tasks again")
        self._tell()

    def card_still_there(self):
        """The checked card is still in the reader (not removed, not replaced)."""
        card = self.card
        return (card is not None and cards.present(self.device)
                and (card.seq is None or cards.disk_seq(self.device) == card.seq))

    def summary(self):
        """The heartbeat's `slot` object (WRITER-CONTRACT.md)."""
        with self._lock:
            card = self.card
            job = self.job
            return {"number": self.number, "state": self.state, "message": self.message,
                    "card": {"size": card.size, "serial": card.serial} if card else None,
                    "task": job.task, "order": job.order, "step": job.step,
                    "percent": None if job.percent is None else round(job.percent, 1),
                    "rate": None if job.rate is None else round(job.rate, 1)}

    def snapshot(self):
        """summary(), with when the state began, whether the slot drains and the step's progress (the fields
        of a task's progress report), read at one instant."""
        with self._lock:
            job = self.job
            progress = None
            if job.total:
                progress = {"percent": round(min(100.0, job.percent or 0.0), 1), "bytes": int(job.done or 0),
                            "total": int(job.total), "rate": round(job.rate or 0.0, 1),
                            "eta": None if job.eta is None else round(job.eta, 1)}
            return {**self.summary(), "since": self.since, "draining": self.draining, "progress": progress}

    def status_line(self):
        """systemd's STATUS, for people: `slot 2: writing order f7dae458 42% 38 MB/s` (the short id the manager
        shows; machines read the state file)."""
        with self._lock:
            return self._status_words() + (" (draining)" if self.draining else "")

    def _status_words(self):
        with self._lock:
            if self.state == "busy":
                job = self.job
                line = f"slot {self.number}: {job.step or 'working'} order {short_id(job.order or '?')}"
                if job.percent is not None:
                    line += f" {job.percent:.0f}%"
                if job.rate:
                    line += f" {job.rate / 1e6:.0f} MB/s"
                return line + (f": {self.message}" if self.message else "")
            if self.state == "ready" and self.card:
                return f"slot {self.number}: ready (card of {self.card.gigabytes:.1f} GB)"
            words = {"done": "done, remove the card", "failed": "failed, remove the card",
                     "refused": "card refused", "no_reader": "no reader", "empty": "empty, insert a card",
                     "checking": "checking the card"}[self.state]
            return f"slot {self.number}: {words}" + (f": {self.message}" if self.message else "")

    # -- the reader -------------------------------------------------------

    def look(self):
        """Compare the reader with the state, and move when a card came or went."""
        with self._lock:
            state = self.state
            if not cards.reader_exists(self.device):
                if state != "busy":
                    self.move("no_reader")
                return
            if not cards.present(self.device):
                if state in ("no_reader", "checking", "ready", "done", "failed", "refused"):
                    self.move("empty")
                return
            if state == "busy":
                return  # the task sees a removal or a new card itself, at its next progress tick
            new_card = self.card is not None and self.card.seq is not None and \
                cards.disk_seq(self.device) != self.card.seq
            if state in _GONE or (new_card and state != "checking"):
                self.move("checking")
                threading.Thread(target=self._check, name=f"check-slot-{self.number}", daemon=True).start()

    def _check(self):
        seq = cards.disk_seq(self.device)
        try:
            card = self._inspect()
            card.seq = seq
            if self.check_capacity:
                cards.check_capacity(card)
            if cards.disk_seq(self.device) != seq:
                raise cards.CardError("the card changed while it was checked")
        except cards.CardError as exc:
            with self._lock:
                if self.state == "checking" and cards.disk_seq(self.device) == seq:
                    self.card = cards.Card(self.device, 0, None, seq)  # a refused card is known by its seq
                    self.move("refused", f"card refused: {exc}")
            self.look()
            return
        with self._lock:
            if self.state == "checking":
                self.card = card
                self.move("ready", f"card of {card.gigabytes:.1f} GB")
        self.look()

    def _inspect(self):
        deadline = time.monotonic() + BUSY_GRACE
        serial = self._serial or _udev_serial(self.device)
        while True:
            try:
                return cards.inspect(self.device, serial)
            except cards.CardBusy:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.25)

    def untouched(self):
        """busy -> ready: the task ended before writing (its image could not be obtained)."""
        with self._lock:
            if self.card_still_there():
                self.move("ready", f"card of {self.card.gigabytes:.1f} GB")
            else:
                self.move("failed", "card removed")

    def refuse(self, message):
        """The card cannot take the offered task (too small): nothing more until a new card."""
        with self._lock:
            self.move("refused", message)

    def start(self):
        context = pyudev.Context()
        monitor = pyudev.Monitor.from_netlink(context, source="kernel")
        monitor.filter_by("block")
        monitor.start()
        self._thread = threading.Thread(target=self._watch, args=(monitor,), name=f"udev-slot-{self.number}",
                                        daemon=True)
        self._thread.start()
        self.look()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self, monitor):
        last = time.monotonic()
        while not self._stop.is_set():
            device = monitor.poll(timeout=1.0)  # short: a stop is noticed within a second
            if device is None and time.monotonic() - last < RECHECK:
                continue
            if device is not None and not self._ours(device):
                continue
            last = time.monotonic()
            try:
                self.look()
            except Exception:
                log.exception("slot %s: cannot look at the reader", self.number)

    def _ours(self, device):
        if self.match:
            return all(device.properties.get(key) == value for key, value in self.match.items())
        return device.device_node == self.device


def _udev_serial(device):
    """The card's serial as udev knows it (none for loop devices)."""
    try:
        found = pyudev.Devices.from_device_file(pyudev.Context(), device)
    except (pyudev.DeviceNotFoundError, OSError, ValueError):
        return None
    for key in ("ID_SERIAL_SHORT", "ID_SERIAL"):
        if found.properties.get(key):
            return found.properties[key][:100]
    return None
