"""A Celery beat scheduler whose entries live in the `schedules` collection.

Both ways: edits made through the API (`/schedules`) are picked up within
`sync_every` seconds, and the beat writes back when each entry last ran and
how often, so a restarted beat neither forgets nor repeats.

Schedules run on the database server's clock (cardshop.store.clock), which
this process measures again at every sync. A last run recorded in the future
(by a beat whose clock ran ahead) would hold its schedule back until that
time came: it is taken as now, and said, wherever it is read or written.
"""

import datetime
import logging

import pymongo.errors
from celery.beat import ScheduleEntry, Scheduler
from celery.schedules import crontab, schedule

from cardshop.beat.jobs import DEFAULT_SCHEDULES
from cardshop.store import clock, new_id, now, schedules

log = logging.getLogger(__name__)

JOB_TASK = "cardshop.beat.job"
# Bounded waits: a publish the broker never confirms (e.g. after it refused one while the
# scheduler could not check rights) must not hold the schedule loop for ever.
SEND_OPTIONS = {"queue": "beat", "timeout": 10, "confirm_timeout": 10}
# Further ahead than the clock's own corrections ever step (cardshop.store.clock.STEADY).
FUTURE_TOLERANCE = datetime.timedelta(seconds=1)


def to_celery_schedule(doc):
    if doc.get("crontab"):
        minute, hour, day_of_month, month_of_year, day_of_week = doc["crontab"].split()
        return crontab(minute=minute, hour=hour, day_of_month=day_of_month, month_of_year=month_of_year,
                       day_of_week=day_of_week, nowfun=now)
    return schedule(doc["every"], nowfun=now)


def clamped(name, last_run_at, moment):
    """`last_run_at` itself, or `moment` when it lies in the future (logged, naming the schedule and by how much)."""
    if last_run_at is None:
        return None
    ahead = clock.utc(last_run_at) - moment
    if ahead <= FUTURE_TOLERANCE:
        return last_run_at
    log.warning("schedule %s: its last run is recorded %.0f s in the future (%s); taken as now, so that it runs "
                "on its interval", name, ahead.total_seconds(), last_run_at.isoformat())
    return moment


def install_defaults(db):
    for default in DEFAULT_SCHEDULES:
        moment = now()
        schedules.insert_if_missing(db, {"_id": new_id(), **default, "enabled": True, "total_run_count": 0,
                                         "last_run_at": None, "created_at": moment, "updated_at": moment})


class MongoScheduler(Scheduler):
    """Celery instantiates the class itself: use `bound(db)` to give it its database."""

    sync_every = 5
    db = None

    def __init__(self, *args, **kwargs):
        self.data = {}
        super().__init__(*args, **kwargs)

    @classmethod
    def bound(cls, db):
        return type(cls.__name__, (cls,), {"db": db})

    def setup_schedule(self):
        self._load()  # the defaults are installed by cardshop.beat.run before the worker starts

    def _load(self):
        entries = {}
        moment = now()
        for doc in schedules.enabled(self.db):
            current = self.data.get(doc["name"])
            last_run_at = doc.get("last_run_at")
            if current is not None and current.last_run_at and (not last_run_at or current.last_run_at > last_run_at):
                last_run_at = current.last_run_at
            kept = clamped(doc["name"], last_run_at, moment)
            if kept is not last_run_at:
                self._heap = None  # Celery times runs from its heap's entries: rebuild it from these
            last_run_at = kept
            entries[doc["name"]] = ScheduleEntry(
                name=doc["name"], task=JOB_TASK, schedule=to_celery_schedule(doc), args=(),
                kwargs={"job": doc["job"], "params": doc.get("params", {}), "schedule": doc["name"]},
                options=SEND_OPTIONS, last_run_at=last_run_at,
                total_run_count=max(doc.get("total_run_count", 0),
                                    current.total_run_count if current else 0), app=self.app)
        self.data = entries

    def get_schedule(self):
        return self.data

    def set_schedule(self, value):
        self.data = value

    schedule = property(get_schedule, set_schedule)

    def sync(self):
        try:
            self._follow_server_clock()
            moment = now()
            for name, entry in self.data.items():
                entry.last_run_at = clamped(name, entry.last_run_at, moment)
                schedules.record_runs(self.db, name, entry.last_run_at, entry.total_run_count)
            self._load()
        except pymongo.errors.PyMongoError as exc:
            # An error here would end Celery's beat loop for good; keep running from memory instead.
            log.warning("the database does not answer (%s); the schedule runs from memory and syncs again "
                        "in %d s", exc, self.sync_every)

    def _follow_server_clock(self):
        try:
            clock.follow(clock.measure(self.db))
        except clock.ClockUnknown:
            pass  # the beat's clock watch says so (cardshop.beat.clock); keep the clock followed so far

    def tick(self, *args, **kwargs):
        if self.should_sync():  # pick up API edits even while nothing runs
            self._do_sync()
        return min(super().tick(*args, **kwargs), self.sync_every)

    @property
    def info(self):
        return "    . db -> schedules collection"
