"""One run of a scheduled job: refused while the beat's clock is, its outcome and duration written back."""

import logging
import time

import pymongo.errors

from cardshop.beat.jobs import run_job
from cardshop.domain.jobs import SLOW_SHARE, TIME_BASED, slow_run
from cardshop.store import now, schedules

log = logging.getLogger(__name__)


def run_scheduled(ctx, clock_watch, job, params, schedule=None):
    """Run `job` unless it is time-based and `clock_watch` refuses the clock; its summary.

    `schedule` names the schedule that sent it, whose document then keeps the
    run's summary (or error) and duration next to its last run.
    """
    started = time.monotonic()
    try:
        refusal = clock_watch.check() if job in TIME_BASED else None
        if refusal:
            summary = {"skipped": refusal}
            log.warning("%s: %s", job, summary)
        else:
            summary = run_job(ctx, job, params)
    except Exception as exc:
        record_run(ctx.db, schedule, {"error": f"{type(exc).__name__}: {exc}"}, time.monotonic() - started)
        raise
    record_run(ctx.db, schedule, summary, time.monotonic() - started)
    return summary


def record_run(db, schedule, result, duration):
    """Keep the run's summary and duration in its schedule's document; warn when it was slow for its period."""
    duration = round(duration, 3)
    if schedule is None:
        return
    try:
        every = (schedules.record_result(db, schedule, result, duration, now()) or {}).get("every")
    except pymongo.errors.PyMongoError as exc:  # the run itself is done; its record can be missed
        log.warning("schedule %s: cannot record how its run ended: %s", schedule, exc)
        return
    if slow_run(duration, every):
        log.warning("schedule %s: its run took %.1f s, more than %d %% of its period (every %s s)",
                    schedule, duration, SLOW_SHARE * 100, every)
