"""Run the warehouse: serve FTP(S) until SIGTERM, pinging the watchdog from the server's own loop."""

import logging
import signal

from cardshop.warehouse.identity import Identities
from cardshop.warehouse.server import make_server

log = logging.getLogger(__name__)


def serve(config, notifier):
    logging.getLogger("pyftpdlib").setLevel(max(logging.INFO, logging.getLogger().level))
    scheduler = config["scheduler"]
    server = make_server(config, Identities(scheduler["api_url"], scheduler["timeout"],
                                            scheduler["cache_seconds"], scheduler.get("ca_file")))

    def on_signal(signum, _frame):
        log.info("received %s; stopping", signal.Signals(signum).name)
        notifier.stopping()
        server.ioloop.call_later(0, server.close_all)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    interval = notifier.watchdog_interval()
    if interval:
        server.ioloop.call_every(interval, notifier.watchdog)
    protocol = "FTPS" if "tls" in config else "FTP"
    where = f"{config['ftp']['listen']}:{config['ftp']['port']}"
    notifier.ready(status=f"serving {protocol} on {where}")
    log.info("serving %s on %s", protocol, where)
    server.serve_forever(handle_exit=False)
    return 0
