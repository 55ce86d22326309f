"""The `clock_checks` collection: a daemon's last measurement of its clock against the database server's.

The beat writes its own (`_id` "beat") at every check; the scheduler's /health reads it.
"""


def record(db, daemon, check):
    """Keep `check` as `daemon`'s last measurement."""
    db.clock_checks.replace_one({"_id": daemon}, {"_id": daemon, **check}, upsert=True)


def last(db, daemon):
    """`daemon`'s last measurement, or None if it never measured."""
    return db.clock_checks.find_one({"_id": daemon})
