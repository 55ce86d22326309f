"""A scheduled run's record: its summary and duration in the schedule's document (GET /schedules shows them),
and a warning in the beat's log when it took more than a tenth of its period."""

import logging

from cardshop.beat.jobs import Context
from cardshop.beat.runs import record_run, run_scheduled
from cardshop.store import new_id, now
from tests.conftest import unique


def schedule(db, every=None, crontab=None):
    name = unique("job")
    db.schedules.insert_one({"_id": new_id(), "name": name, "job": "expire_workers", "params": {"after": 86400}, "enabled": True,
                             **({"every": every} if every else {"crontab": crontab}), "created_at": now()})
    return name


def test_a_run_keeps_its_summary_and_duration_on_its_schedule(db):
    name = schedule(db, every=600)
    summary = run_scheduled(Context(db, publisher=None), None, "expire_workers", {"after": 86400}, name)
    stored = db.schedules.find_one({"name": name})
    assert stored["last_result"] == summary and set(summary) == {"unseen", "unregistered"}
    assert 0 <= stored["last_duration"] < 60 and stored["last_finished_at"] <= now()


def test_a_run_longer_than_a_tenth_of_its_period_is_logged_as_slow(db, caplog):
    fast, slow = schedule(db, every=60), schedule(db, every=60)
    with caplog.at_level(logging.WARNING, logger="cardshop.beat.runs"):
        record_run(db, fast, {"deleted": 0}, 5.9)
        record_run(db, slow, {"deleted": 0}, 6.2)
    warnings = [record.getMessage() for record in caplog.records]
    assert not any(fast in warning for warning in warnings), warnings
    assert [warning for warning in warnings if slow in warning] == [
        f"schedule {slow}: its run took 6.2 s, more than 10 % of its period (every 60 s)"]
    assert db.schedules.find_one({"name": slow})["last_duration"] == 6.2


def test_a_crontab_schedule_has_no_period_to_be_slow_for_and_a_gone_one_is_not_recreated(db, caplog):
    name = schedule(db, crontab="0 3 * * *")
    with caplog.at_level(logging.WARNING, logger="cardshop.beat.runs"):
        record_run(db, name, {"deleted": 0}, 3600)
        record_run(db, unique("deleted-meanwhile"), {"deleted": 0}, 3600)
    assert not caplog.records
    assert db.schedules.find_one({"name": name})["last_duration"] == 3600
    assert db.schedules.count_documents({"name": {"$regex": "^deleted-meanwhile"}}) == 0
