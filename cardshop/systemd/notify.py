"""READY, STATUS, WATCHDOG and STOPPING messages to systemd.

Silent when NOTIFY_SOCKET is unset, so every daemon also runs from a shell.
"""

import logging
import os
import threading

import sdnotify

log = logging.getLogger(__name__)


class Notifier:
    def __init__(self):
        self.enabled = bool(os.environ.get("NOTIFY_SOCKET"))
        self._notifier = None
        self._failed = False
        if self.enabled:
            try:  # debug=True: sdnotify raises instead of dropping a message silently; we log it
                self._notifier = sdnotify.SystemdNotifier(debug=True)
            except OSError as exc:
                log.warning("cannot reach systemd's notification socket %s: %s", os.environ["NOTIFY_SOCKET"], exc)

    def _send(self, message):
        if self._notifier is None:
            return
        # sdnotify encodes as Latin-1 and systemd reads UTF-8: hand it the UTF-8 bytes as Latin-1
        # characters, so that a STATUS with "…" or a name in any script arrives whole.
        try:
            self._notifier.notify(message.encode("utf-8").decode("latin-1"))
            self._failed = False
        except OSError as exc:
            if not self._failed:  # once per outage, not at every progress tick
                log.warning("could not tell systemd %r: %s", message.split("=", 1)[0], exc)
            self._failed = True

    def ready(self, status=None):
        self._send("READY=1" + (f"\nSTATUS={status}" if status else ""))

    def status(self, text):
        self._send(f"STATUS={text}")

    def stopping(self):
        self._send("STOPPING=1")

    def watchdog(self):
        """Call from the loop that proves the daemon works, every watchdog_interval() seconds."""
        self._send("WATCHDOG=1")

    def watchdog_interval(self):
        """Seconds between pings (half of WATCHDOG_USEC), or None without a watchdog."""
        usec = os.environ.get("WATCHDOG_USEC")
        if not usec or not usec.isdigit():
            return None
        pid = os.environ.get("WATCHDOG_PID")
        if pid and pid.isdigit() and int(pid) != os.getpid():
            return None
        return int(usec) / 2e6

    def start_watchdog(self, healthy, stop_event):
        """Ping the watchdog from a thread while `healthy()` says so."""
        interval = self.watchdog_interval()
        if interval is None:
            return None

        def loop():
            while not stop_event.wait(interval):
                if healthy():
                    self.watchdog()
                else:
                    log.warning("health check failed; not pinging the watchdog")

        thread = threading.Thread(target=loop, name="watchdog", daemon=True)
        thread.start()
        return thread
