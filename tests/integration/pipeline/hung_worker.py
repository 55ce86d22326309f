"""A Celery worker whose loop a test can hang: `python -m tests.integration.pipeline.hung_worker BROKER_URL
PASSWORD_FILE NAME FOLDER` consumes the queue NAME as the system user and pings the watchdog as the
daemons do (cardshop.pipeline.watchdog). Its `hang` task runs in the worker's own loop (solo pool,
like the beat's) and blocks it: it creates FOLDER/hung, then waits for FOLDER/release."""

import os
import sys
import time

from celery.signals import worker_ready
from kombu import Exchange, Queue

from cardshop.pipeline.celery_app import WORKER_OPTIONS, make_celery
from cardshop.pipeline.watchdog import watch_worker_loop
from cardshop.systemd.notify import Notifier

HANG_TASK = "hang"


def main(broker_url, password_file, name, folder):
    queue = Queue(name, Exchange(name, type="direct", auto_delete=True), routing_key=name, auto_delete=True)
    app = make_celery({"url": broker_url, "username": "cardshop-system", "password_file": password_file,
                       "heartbeat": 10}, "test-hung-worker", worker_queues=[queue])
    notifier = Notifier()

    @app.task(name=HANG_TASK)
    def hang():
        open(os.path.join(folder, "hung"), "w").close()
        while not os.path.exists(os.path.join(folder, "release")):
            time.sleep(0.05)

    worker_ready.connect(lambda **_: notifier.ready(), weak=False)
    watch_worker_loop(app, notifier)
    worker = app.Worker(hostname=f"{name}@test", pool="solo", quiet=True, **WORKER_OPTIONS)
    worker.start()
    return worker.exitcode or 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
