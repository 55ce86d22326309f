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
        self._notifier = sdnotify.SystemdNotifier() if self.enabled else None

    def _send(self, message):
        if self._notifier is not None:
            self._notifier.notify(message)

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
