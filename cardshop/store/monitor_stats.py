"""The `monitor_stats` collection: the monitor's counters that survive its restarts (reports it dropped, by why)."""

from cardshop.store.counters import increment

DROPPED = "dropped"


def drops(db):
    """{why: how many reports the monitor dropped for that reason}, in all."""
    doc = db.monitor_stats.find_one({"_id": DROPPED}) or {}
    return doc.get("counts") or {}


def add_drops(db, counts, moment):
    """Add `counts` ({why: how many}) to the totals of dropped reports."""
    increment(db.monitor_stats, DROPPED, {"$inc": {f"counts.{why}": count for why, count in counts.items()},
                                          "$set": {"at": moment}}, {"counts": {}, "at": moment})
