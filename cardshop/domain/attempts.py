"""A new attempt at a task's work, after the previous one failed or was lost.

The beat (retryable failures, time-outs, repairs) and the API (an operator's
retry) both go through here, so an attempt is numbered and linked the same way.
"""

import logging

from cardshop.store import now, tasks

log = logging.getLogger(__name__)


def next_attempt(db, task, actor, note, **fields):
    """Insert and return a task doing `task`'s work again (attempt + 1, `retry_of` it); not published."""
    retry = tasks.new_task(task["order"], task["kind"], actor, now(),
                     attempt=task.get("attempt", 1) + 1, retry_of=task["_id"], **fields)
    tasks.insert(db, retry)
    log.info("order %s: new %s task %s, attempt %d (%s)", task["order"], task["kind"], retry["_id"],
             retry["attempt"], note)
    return retry
