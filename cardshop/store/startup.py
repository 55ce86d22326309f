"""Open the database when a daemon starts: read the URI, wait for an answer, ensure the indexes."""

import logging

from cardshop.config.rules import database_uri
from cardshop.store.db import connect, ensure_indexes, ping

log = logging.getLogger(__name__)


def open_database(config, notifier, stop):
    """Connect, waiting as long as it takes for the database to answer; None if stopped meanwhile."""
    section = config["database"]
    db = connect(database_uri(config), section["name"], section["timeout"], section["call_timeout"])
    delay = 1
    while not ping(db):
        notifier.status("waiting for the database")
        log.warning("database does not answer; retrying in %d s", delay)
        if stop.wait(delay):
            return None
        delay = min(delay * 2, 30)
    ensure_indexes(db)
    return db
