"""The beat's job catalogue as data: each job's name and the JSON Schema of its parameters.

The API checks schedules against it without importing the beat; the beat's
implementations (cardshop/beat/jobs.py) must take exactly these parameters.
"""

_SECONDS = {"type": "integer", "minimum": 1}


def _params(**properties):
    return {"type": "object", "additionalProperties": False, "properties": properties}


CATALOGUE = {
    "republish_pending": _params(older_than=_SECONDS),
    "time_out_tasks": _params(timeout=_SECONDS, max_attempts={"type": "integer", "minimum": 1}),
    "purge_tokens": _params(),
    "expire_downloads": _params(after_days={"type": "integer", "minimum": 1}),
    "clean_warehouse": _params(limit={"type": "integer", "minimum": 1}),
    "retry_failed": _params(max_attempts={"type": "integer", "minimum": 1}, older_than=_SECONDS, within=_SECONDS),
    "reconcile": _params(older_than=_SECONDS, max_attempts={"type": "integer", "minimum": 1}),
    "move_offline_writers": _params(offline_after=_SECONDS),
    "expire_workers": _params(after=_SECONDS),
    "prune_commits": _params(older_than=_SECONDS, limit={"type": "integer", "minimum": 1}),
    "compact_histories": _params(after_days={"type": "integer", "minimum": 1}, limit={"type": "integer", "minimum": 1}),
    "recount_orders": _params(settle={"type": "integer", "minimum": 0, "maximum": 60}),
    "send_notifications": _params(batch={"type": "integer", "minimum": 1, "maximum": 1000},
                                  max_attempts={"type": "integer", "minimum": 1}, retry_for=_SECONDS,
                                  lookback=_SECONDS, lease={"type": "integer", "minimum": 60}),
    "prune_notifications": _params(after_days={"type": "integer", "minimum": 2},
                                   limit={"type": "integer", "minimum": 1}),
    "auto_image": {**_params(name={"type": "string"}, recipe={"type": "object"},
                             card_size={"type": "integer"}, warehouse={"type": "string"}),
                   "required": ["name", "recipe"]},
}

# Jobs that compare stored times with now: they skip their runs while the beat's clock is refused
# (cardshop.beat.clock), rather than time out, expire or move what is alive.
TIME_BASED = frozenset({"republish_pending", "time_out_tasks", "purge_tokens", "expire_downloads", "retry_failed",
                        "reconcile", "move_offline_writers", "prune_commits", "compact_histories",
                        "send_notifications", "prune_notifications"})


# A run that takes more than this share of its schedule's period is slow: logged, and shown as such.
SLOW_SHARE = 0.1


def slow_run(duration, every):
    """Whether a run of `duration` seconds is slow for a schedule run `every` seconds (None: by crontab)."""
    return every is not None and duration is not None and duration > every * SLOW_SHARE


def parameters(job):
    """The parameter names `job` takes, in declaration order."""
    return list(CATALOGUE[job]["properties"])
