"""The slot's state file for its host (cardshop/pipeline/slot_state.py), and the drain request it honours.

One thread writes the file: at once when the slot changes (the slot's listener
only wakes it: listeners run under the slot's lock) and every POLL seconds, when
it also follows the drain request and notices what the slot does not announce:
the consumer cancelled, a delivery settled. It needs neither the broker nor the
worker's event loop, so a drain is seen while the broker is away too.
"""

import logging
import os
import threading

from cardshop.pipeline import slot_state

log = logging.getLogger(__name__)

POLL = 0.2  # seconds between looks at the drain request and at what the slot holds


class StateFile:
    """Keeps `<runtime_dir>/slot-<N>/state.json` true for `slot`; `gate` says whether the queue is consumed and
    whether a delivery is unsettled (cardshop/writer/worker.py's ConsumerGate)."""

    def __init__(self, slot, gate, runtime_dir):
        self.slot = slot
        self.gate = gate
        self.runtime_dir = runtime_dir
        self._written = None
        self._failure = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"state-slot-{slot.number}", daemon=True)

    def document(self):
        now = self.slot.snapshot()
        consuming, holding = self.gate.takes_deliveries(), self.gate.holding()
        return {"format": slot_state.FORMAT, "slot": self.slot.number, "pid": os.getpid(),
                "state": now["state"], "since": slot_state.timestamp(now["since"]), "message": now["message"],
                "card": now["card"], "task": now["task"], "order": now["order"], "step": now["step"],
                "progress": now["progress"],
                "draining": now["draining"], "consuming": consuming,
                "drained": now["draining"] and now["state"] != "busy" and not consuming and not holding}

    def changed(self, _slot=None):
        """The slot's listener: the state is written now, by the thread."""
        self._wake.set()

    def write(self):
        """Write the state if it changed (from one thread: the loop, or before it starts)."""
        document = self.document()
        if document == self._written:
            return
        try:
            slot_state.write(self.runtime_dir, self.slot.number, document)
        except OSError as exc:
            failure = f"cannot write {slot_state.state_path(self.runtime_dir, self.slot.number)}: {exc.strerror}"
            if failure != self._failure:  # once, not every POLL
                log.warning("slot %s: %s", self.slot.number, failure)
            self._failure = failure
            return
        self._written, self._failure = document, None

    def _loop(self):
        while True:
            self._wake.wait(POLL)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                self.slot.drain(slot_state.drain_requested(self.runtime_dir, self.slot.number))
                self.write()
            except Exception:  # the file is for the host's tools: the slot goes on without it
                log.exception("slot %s: cannot publish its state", self.slot.number)

    def start(self):
        self.write()
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=5)
        try:
            slot_state.remove(self.runtime_dir, self.slot.number)
        except OSError as exc:
            log.warning("slot %s: cannot remove its state file: %s", self.slot.number, exc.strerror)
