"""Run the scheduler: wait for the database, prepare it, serve the API."""

import logging
import os
import threading

import pymongo.errors
import waitress

from cardshop.api.app import build_app
from cardshop.client import ApiClient, ApiUnreachable
from cardshop.config import read_secret
from cardshop.config.rules import jwt_key
from cardshop.serving import local_url, run, stop_on_signals
from cardshop.scheduler import metrics
from cardshop.scheduler.bootstrap import ensure_first_admin, ensure_system_user
from cardshop.store import orders
from cardshop.store.startup import open_database

log = logging.getLogger(__name__)


class LoopCheck:
    """The watchdog proves Waitress's own loop: /health answers at all.

    503 (the database is down) still proves the loop; database health goes
    to STATUS, and the daemon rides out the outage instead of being killed.
    """

    def __init__(self, api, where, notifier):
        self.client = ApiClient(local_url(api["listen"], api["port"]), timeout=5)
        self.where = where
        self.notifier = notifier
        self.database_up = True

    def __call__(self):
        try:
            reply = self.client.get("/health")
        except ApiUnreachable:
            return False
        if reply.ok != self.database_up:
            self.database_up = reply.ok
            self.notifier.status(f"serving the API on {self.where}" if reply.ok
                                 else f"serving the API on {self.where}; the database does not answer")
        return True


def bootstrap_users(db, config, hasher):
    system = config["system_user"]
    if os.path.exists(system["password_file"]):
        password = read_secret(system["password_file"], "system_user.password_file")
        ensure_system_user(db, hasher, system["username"], password)
    else:
        log.info("no %s: running without a system user", system["password_file"])
    admin = config.get("bootstrap_admin")
    if admin:
        password = read_secret(admin["password_file"], "bootstrap_admin.password_file")
        ensure_first_admin(db, hasher, admin["username"], admin["email"], password)


def backfill_search(db):
    """Give orders from before the search fields their fields (once per database; meanwhile a search
    misses them). In the background: serving does not wait for it."""
    try:
        orders.backfill_search(db)
    except pymongo.errors.PyMongoError as exc:
        log.warning("orders placed before search fields existed are not searchable yet (%s); "
                    "the next start tries again", exc)


def serve(config, notifier):
    """Serve until SIGTERM or SIGINT; returns the exit code."""
    key = jwt_key(config)
    stop = stop_on_signals(notifier)

    db = open_database(config, notifier, stop)
    if db is None:
        return 0
    app, services = build_app(db, config, key)
    bootstrap_users(db, config, services.hasher)
    threading.Thread(target=backfill_search, args=(db,), name="backfill-search", daemon=True).start()
    metrics.start(config, db, services.publisher)

    api = config["api"]
    server = waitress.create_server(
        app, host=api["listen"], port=api["port"], threads=api["threads"],
        max_request_body_size=api["max_body_bytes"] * 8, ident="cardshop",
        clear_untrusted_proxy_headers=True)
    where = f"http://{api['listen']}:{api['port']}"
    notifier.ready(status=f"serving the API on {where}")
    notifier.start_watchdog(LoopCheck(api, where, notifier), stop)
    log.info("serving the API on %s", where)
    return run(server)
