"""What the HTTP daemons (the API, the manager) share: stopping on signals, their own loopback URL, the Waitress run."""

import logging
import signal
import threading
import time

log = logging.getLogger(__name__)


def stop_on_signals(notifier):
    """On SIGTERM or SIGINT: set the returned event, tell systemd, and leave Waitress's loop."""
    stop = threading.Event()

    def on_signal(signum, _frame):
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()
        notifier.stopping()
        raise SystemExit(0)  # waitress's loop catches this and shuts down cleanly

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def local_url(listen, port):
    """The URL this host reaches a listener on, for its own health checks."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(listen, listen)
    return f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"


def run(server):
    """Run a Waitress server until a signal stops it."""
    started = time.monotonic()
    try:
        server.run()
    except SystemExit:
        pass
    log.info("stopped after %.0f s", time.monotonic() - started)
    return 0
