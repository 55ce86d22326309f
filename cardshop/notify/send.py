"""Sending the pending notifications, each once (store/notifications.py says how two beats never both send).

A notification is marked sent right after the SMTP server accepted it: a
beat that dies between the two sends it again when its lease ends, with the
same Message-ID (docs/decisions/notifications.md). A transient failure (4xx,
no connection) is tried again with a growing wait, for `retry_for` seconds;
a permanent one (5xx) at most `max_attempts` times; then it is marked failed
and logged.
"""

import datetime
import logging

from cardshop.faults import backoff
from cardshop.notify.mail import MailError, Outbox, build_message
from cardshop.store import notifications, now

log = logging.getLogger(__name__)

RETRY_FIRST, RETRY_MOST = 60.0, 3600.0  # seconds: the first wait after a transient failure, the longest


def send_due(db, settings, batch=50, max_attempts=3, retry_for=7 * 86400, lease=300):
    """Send up to `batch` due notifications; {"sent", "retry", "failed"} counts."""
    counts = {"sent": 0, "retry": 0, "failed": 0}
    with Outbox(settings) as outbox:
        for doc in notifications.due(db, now(), batch):
            taken = notifications.take(db, doc, now() + datetime.timedelta(seconds=lease))
            if taken is None:
                continue  # another beat has it
            try:
                outbox.send(build_message(taken, settings))
            except MailError as exc:
                outcome = _failed(db, taken, exc, max_attempts, retry_for)
                counts[outcome] += 1
                if not exc.permanent:
                    break  # the server is away: the others wait for the next run, untried
                continue
            notifications.mark_sent(db, taken)
            counts["sent"] += 1
            log.info("sent %s to %s", taken["_id"], taken["to"])
    return counts


def _failed(db, doc, exc, max_attempts, retry_for):
    age = (now() - doc["created_at"]).total_seconds()
    if (exc.permanent and doc["rev"] >= max_attempts) or (not exc.permanent and age >= retry_for):
        notifications.mark_failed(db, doc, str(exc))
        log.error("gave up notification %s to %s after %d attempt(s): %s", doc["_id"], doc["to"], doc["rev"], exc)
        return "failed"
    wait = backoff(doc["rev"], RETRY_FIRST, RETRY_MOST)
    notifications.retry_at(db, doc, now() + datetime.timedelta(seconds=wait), str(exc))
    log.warning("notification %s to %s not sent (%s); trying again in %.0f s", doc["_id"], doc["to"], exc, wait)
    return "retry"
