"""Open the database when a daemon starts: read the URI, wait for an answer, ensure the indexes."""

import logging

from cardshop import faults
from cardshop.config.rules import database_uri
from cardshop.store.db import connect, ensure_indexes, ping

log = logging.getLogger(__name__)


def open_database(config, notifier, stop):
    """Connect, waiting as long as it takes for the database to answer; None if stopped meanwhile."""
    section = config["database"]
    db = connect(database_uri(config), section["name"], section["timeout"], section["call_timeout"])
    waits = faults.Backoff(first=1, most=30, stop=stop)
    while not ping(db):
        notifier.status("waiting for the database")
        delay = waits.next()
        log.warning("database does not answer; retry %d in %.0f s", waits.attempt, delay)
        if waits.sleep(delay):
            return None
    ensure_indexes(db)
    return db
