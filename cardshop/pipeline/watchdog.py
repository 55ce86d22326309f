"""WATCHDOG from a Celery worker's main thread: the pings stop when that thread hangs.

Connected, the main thread runs the consumer's event loop, whose timer pings. When the broker goes
away, Celery restarts the consumer: `Consumer.on_close` clears the timer, the main thread sits in
kombu's reconnect loop (backing off up to 30 s between attempts) and `worker_ready` is not sent
again. So the timer's pings are set up at every start of the consumer (a consumer bootstep), and the
reconnect loop pings from the callback kombu calls every second while it waits for the broker.
"""

from celery import bootsteps
from celery.worker.consumer import Consumer


def watch_worker_loop(app, notifier):
    """Make `app`'s workers ping the watchdog from their own loop (no-op without a watchdog)."""
    interval = notifier.watchdog_interval()
    if not interval:
        return
    app.steps["consumer"].add(timer_pings(notifier, interval))
    app.conf.worker_consumer = reconnect_pings(notifier)


def timer_pings(notifier, interval):
    class TimerPings(bootsteps.StartStopStep):
        """Ping from the consumer's timer while the consumer runs, from each (re)start on."""

        requires = ("celery.worker.consumer.connection:Connection",)
        entry = None  # the timer's entry while the consumer runs

        def start(self, parent):
            notifier.watchdog()  # the loop's first tick is up to `interval` away
            self.entry = parent.timer.call_repeatedly(interval, notifier.watchdog)

        def stop(self, parent):
            if self.entry is not None:
                self.entry.cancel()
                self.entry = None

        shutdown = stop

    return TimerPings


def reconnect_pings(notifier):
    class ReconnectPings(Consumer):
        """Celery's consumer, pinging while it (re)connects to the broker."""

        def ensure_connected(self, conn):
            retry = conn.ensure_connection

            # Celery passes its own callback (a shutdown check); kombu calls it once a second between
            # attempts, in this thread: a ping there proves the reconnect loop turns.
            def ensure_connection(*args, callback=None, **kwargs):
                def tick():
                    notifier.watchdog()
                    if callback is not None:
                        callback()
                return retry(*args, callback=tick, **kwargs)

            conn.ensure_connection = ensure_connection
            return super().ensure_connected(conn)

    return ReconnectPings
