"""Run the creator: its Celery worker in threads, heartbeats, and the cancel listener."""

import logging
import os
import shutil
import socket

from celery.signals import task_postrun, task_prerun, worker_ready

from cardshop.creator.worker import build_worker
from cardshop.pipeline.celery_app import WORKER_OPTIONS
from cardshop.pipeline.heartbeat import Heartbeat
from cardshop.pipeline.watchdog import watch_worker_loop

log = logging.getLogger(__name__)


def serve(config, notifier):
    settings = config["creator"]
    for folder in (settings["cache_dir"], settings["build_dir"]):
        os.makedirs(folder, exist_ok=True)
    # Builds a killed creator left behind: their tasks were redelivered and start clean.
    for leftover in os.listdir(settings["build_dir"]):
        shutil.rmtree(os.path.join(settings["build_dir"], leftover), ignore_errors=True)
    app, listener = build_worker(config)
    listener.start()
    username = config["broker"]["username"]
    hostname = f"{username}@{socket.gethostname()}"
    active = set()
    heartbeat = Heartbeat(app, username, socket.gethostname(), lambda: {"active": len(active)})
    task_prerun.connect(lambda task_id=None, **_: active.add(task_id), weak=False)
    task_postrun.connect(lambda task_id=None, **_: active.discard(task_id), weak=False)

    @worker_ready.connect(weak=False)
    def announce(**_):
        heartbeat.start()
        notifier.ready(status=f"building images as {hostname}")
        log.info("ready: consuming create as %s", hostname)

    watch_worker_loop(app, notifier)
    worker = app.Worker(hostname=hostname, pool="threads", concurrency=settings["concurrency"], quiet=True,
                        loglevel=config["logging"]["level"].upper(), **WORKER_OPTIONS)
    worker.start()
    heartbeat.stop()
    listener.stop()
    return worker.exitcode or 0
