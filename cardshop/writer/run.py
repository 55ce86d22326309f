"""Run one writer slot (writer@N): its Celery worker, the slot's udev follower, heartbeats and state file."""

import logging
import os
import socket
import threading
import time

from celery.signals import worker_ready

import cardshop
from cardshop.config import ConfigError, load_config
from cardshop.config.writer import SLOTS_SCHEMA
from cardshop.pipeline.celery_app import WORKER_OPTIONS
from cardshop.pipeline.heartbeat import Heartbeat
from cardshop.pipeline.watchdog import watch_worker_loop
from cardshop.writer.slot import Slot
from cardshop.writer.state_file import StateFile
from cardshop.writer.worker import build_worker

log = logging.getLogger(__name__)

NUDGE_GAP = 1.0  # a state change heartbeats at once, at most once a second


def load_slot(config, number):
    """The slot's entry in the slots file; ConfigError when it has none."""
    if number is None:
        raise ConfigError("--slot N is required: the slot this process serves (writer@N passes it)")
    path = config["writer"]["slots_file"]
    for entry in load_config(SLOTS_SCHEMA, path)["slots"]:
        if entry["slot"] == number:
            return entry
    raise ConfigError(f"key 'writer.slots_file': {path} has no slot {number}")


def heartbeat_fields(slot, images):
    """What a slot's heartbeat says besides its name and time: its one slot, busy or not, the host's
    cached `images` and the software's version."""
    return {"slots": 1, "active": int(slot.state == "busy"), "images": images,
            "software": f"cardshop {cardshop.__version__}", "slot": slot.summary()}


class Nudger:
    """Heartbeat at once when the slot changes, at most once a second."""

    def __init__(self, heartbeat):
        self.heartbeat = heartbeat
        self._event = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="nudge", daemon=True)

    def __call__(self, _slot):
        self._event.set()

    def _loop(self):
        while not self._stop.is_set():
            self._event.wait()
            if self._stop.is_set():
                return
            self._event.clear()
            try:
                self.heartbeat.send()
            except Exception as exc:
                log.warning("heartbeat not sent: %s", exc)
            time.sleep(NUDGE_GAP)

    def start(self):
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._event.set()


def serve(config, notifier, args):
    number = args.slot
    entry = load_slot(config, number)
    settings = config["writer"]
    os.makedirs(settings["cache_dir"], exist_ok=True)
    username = config["broker"]["username"]
    host = f"{socket.gethostname()}.slot-{number}"
    hostname = f"{username}@{host}"
    slot = Slot(number, entry["device"], entry.get("match"), settings["capacity_check"])
    app, listener, cache, gate = build_worker(config, slot)
    listener.start()
    stop = threading.Event()
    threading.Thread(target=gate.look_for_queue, args=(app, stop), name="queue", daemon=True).start()

    heartbeat = Heartbeat(app, username, host, lambda: heartbeat_fields(slot, cache.names()))
    nudger = Nudger(heartbeat)
    state_file = StateFile(slot, gate, settings["runtime_dir"])
    slot.listeners += [nudger, lambda changed: notifier.status(changed.status_line()), state_file.changed]
    state_file.start()  # from the start: a drain asked while the slot comes up is seen

    @worker_ready.connect(weak=False)
    def announce(**_):
        slot.start()
        heartbeat.start()
        nudger.start()
        notifier.ready(status=slot.status_line())
        log.info("ready: slot %s of %s, writing from %s", number, hostname, entry["device"])

    watch_worker_loop(app, notifier)
    worker = app.Worker(hostname=hostname, pool="threads", concurrency=1, quiet=True,
                        loglevel=config["logging"]["level"].upper(), **WORKER_OPTIONS)
    worker.start()
    stop.set()
    state_file.stop()
    nudger.stop()
    slot.stop()
    heartbeat.stop()
    listener.stop()
    return worker.exitcode or 0
