"""Run the monitor daemon until SIGTERM."""

import logging
import signal
import threading
import time

from cardshop.client import TokenSource
from cardshop.config import read_secret
from cardshop.monitor.claim_service import ClaimService
from cardshop.monitor.results import ResultChecker
from cardshop.monitor.service import Monitor
from cardshop.pipeline.celery_app import make_celery
from cardshop.pipeline.publish import Publisher
from cardshop.store.startup import open_database

log = logging.getLogger(__name__)


def serve(config, notifier):
    stop = threading.Event()
    app = make_celery(config["broker"], "cardshop-monitor")
    db = open_database(config, notifier, stop)
    if db is None:
        return 0

    def ready():
        notifier.ready(status="applying reports")

    broker = config["broker"]
    tokens = TokenSource(config["scheduler"]["api_url"], broker["username"],
                         read_secret(broker["password_file"], "broker.password_file"),
                         ca_file=config["scheduler"].get("ca_file"))
    results = ResultChecker(db, tokens, config["warehouse"].get("ca_file"))
    settings = config["monitor"]
    monitor = Monitor(app, db, Publisher(app, db), prefetch=settings["prefetch"], on_ready=ready,
                      results=results, writer_timeout=settings["writer_timeout"], lanes=settings["report_lanes"])
    monitor.registry.max_records_per_creator = settings["max_hosts_per_account"]
    monitor.applier.max_card_rate = settings["max_card_rate"]
    claims = ClaimService(app, monitor.claims, monitor.accounts, monitor.count_drop, monitor.count_claim)

    def on_signal(signum, _frame):
        log.info("received %s; stopping", signal.Signals(signum).name)
        notifier.stopping()
        monitor.should_stop = True
        claims.should_stop = True
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    interval = notifier.watchdog_interval() or 10
    notifier.start_watchdog(lambda: time.monotonic() - min(monitor.last_loop, claims.last_loop)
                            < max(4 * interval, 10), stop)
    notifier.status("connecting to the broker")
    claims.start()
    # Wake often: buffered progress is written, and what the lanes applied acknowledged (which lets the broker
    # send that account more), within 20 ms. Costs about 1 % of a core when idle.
    monitor.run(safety_interval=0.02)
    claims.stop()
    monitor.lanes.stop()  # what they apply now is acknowledged by no one: RabbitMQ redelivers it, a duplicate
    monitor.flush_heartbeats(force=True)
    monitor.save_stats(force=True)
    written = monitor.registry.written
    log.info("stopped after applying %d reports (%d dropped); heartbeats: %d written at once, %d coalesced into "
             "%d bulk writes", monitor.applied, sum(monitor.dropped.values()), written["at_once"],
             written["coalesced"], written["bulk_writes"])
    return 0
