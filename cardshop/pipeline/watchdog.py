"""WATCHDOG from a Celery worker's own event loop: its timer stops firing when the loop hangs."""

from celery.signals import worker_ready


def watch_worker_loop(notifier):
    """Once the worker is ready, ping the watchdog from the consumer's timer (no-op without one)."""
    interval = notifier.watchdog_interval()
    if not interval:
        return

    @worker_ready.connect(weak=False)
    def start(sender, **_):
        sender.timer.call_repeatedly(interval, notifier.watchdog)
