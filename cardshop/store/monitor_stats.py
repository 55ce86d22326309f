"""The `monitor_stats` collection: the monitor's figures that survive its restarts, for operators and metrics.

- `dropped`: reports it dropped, by why;
- `claims`: claim requests it answered, by decision (accepted, refused, wait);
- `lag`: the longest a report took from its sending to its application among those applied lately.
"""

from cardshop.store.counters import increment

DROPPED, CLAIMS, LAG = "dropped", "claims", "lag"


def counts(db, name):
    """{label: how many} of the counter document `name` (DROPPED or CLAIMS), in all."""
    doc = db.monitor_stats.find_one({"_id": name}) or {}
    return doc.get("counts") or {}


def add(db, name, more, moment):
    """Add `more` ({label: how many}) to the counter document `name`."""
    increment(db.monitor_stats, name, {"$inc": {f"counts.{label}": count for label, count in more.items()},
                                       "$set": {"at": moment}}, {"counts": {}, "at": moment})


def drops(db):
    """{why: how many reports the monitor dropped for that reason}, in all."""
    return counts(db, DROPPED)


def add_drops(db, more, moment):
    add(db, DROPPED, more, moment)


def set_lag(db, seconds, moment):
    """The longest delay (seconds) of the reports applied since the last save, measured at `moment`."""
    db.monitor_stats.update_one({"_id": LAG}, {"$set": {"seconds": seconds, "at": moment}}, upsert=True)


def lag(db, moment, fresh_for):
    """The lag saved within `fresh_for` seconds before `moment`, else 0.0 (no report applied lately)."""
    doc = db.monitor_stats.find_one({"_id": LAG}) or {}
    at = doc.get("at")
    if at is None or (moment - at).total_seconds() > fresh_for:
        return 0.0
    return float(doc.get("seconds") or 0.0)
