"""The `monitor_stats` collection: the monitor's counters that survive its restarts (reports it dropped, by why)."""

DROPPED = "dropped"


def add_drops(db, counts, moment):
    """Add `counts` ({why: how many}) to the totals of dropped reports."""
    db.monitor_stats.update_one({"_id": DROPPED}, {"$inc": {f"counts.{why}": count for why, count in counts.items()},
                                                   "$set": {"at": moment}}, upsert=True)
