"""Run the beat: Celery beat on the MongoDB schedule, with an embedded worker for the jobs."""

import logging
import socket
import threading

from celery.signals import worker_ready

from cardshop.beat.clock import ClockWatch
from cardshop.beat.jobs import Context
from cardshop.beat.runs import run_scheduled
from cardshop.beat.schedule import JOB_TASK, MongoScheduler, install_defaults
from cardshop.config import read_secret
from cardshop.config.rules import mail_settings
from cardshop.notify.mail import Settings
from cardshop.pipeline import topology
from cardshop.pipeline.celery_app import make_celery
from cardshop.client import TokenSource
from cardshop.pipeline.publish import Publisher
from cardshop.pipeline.watchdog import watch_worker_loop
from cardshop.store.startup import open_database

log = logging.getLogger(__name__)


def serve(config, notifier):
    db = open_database(config, notifier, threading.Event())
    app = make_celery(config["broker"], "cardshop-beat", worker_queues=[topology.BEAT_QUEUE])
    app.conf.task_routes = {JOB_TASK: {"queue": "beat"}}
    app.conf.task_default_queue = "beat"
    broker = config["broker"]
    tokens = TokenSource(config["scheduler"]["api_url"], broker["username"],
                         read_secret(broker["password_file"], "broker.password_file"),
                         ca_file=config["scheduler"].get("ca_file"))
    mail = mail_settings(config)
    context = Context(db, Publisher(app, db), tokens, config["warehouse"].get("ca_file"),
                      Settings(**mail) if mail else None)
    # Measured before the scheduler's process forks off, so that it starts on the database server's clock.
    clock_watch = ClockWatch(db, config["beat"]["max_clock_skew"], notifier)
    clock_watch.check()

    @app.task(name=JOB_TASK)
    def job(job, params, schedule=None):
        return run_scheduled(context, clock_watch, job, params, schedule)

    @worker_ready.connect(weak=False)
    def announce(**_):
        notifier.ready(status=clock_watch.status_line())
        log.info("ready: running the schedule from MongoDB")
        clock_watch.start()  # only now: the scheduler's process has forked off, and forks no thread

    # Before the worker starts, so that 'ready' means every default schedule exists (the embedded beat
    # process reads the schedules only some time after the worker is ready).
    install_defaults(db)
    watch_worker_loop(app, notifier)
    worker = app.Worker(hostname=f"beat@{socket.gethostname()}", pool="solo", beat=True,
                        scheduler=MongoScheduler.bound(db), without_mingle=True, without_gossip=True,
                        without_heartbeat=True, quiet=True, loglevel=config["logging"]["level"].upper())
    worker.start()
    return worker.exitcode or 0
