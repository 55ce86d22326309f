"""Applying one report: once, in order, forward only, from the worker that holds the task
(on a real FerretDB, without cascades or a warehouse)."""

import itertools
import uuid

import pymongo
import pytest

from cardshop.monitor.apply import APPLIED, DUPLICATE, REFUSED, STALE, UNKNOWN, ReportApplier
from cardshop.monitor.claims import ClaimDecider
from cardshop.pipeline.claims import grant_digest, new_grant
from cardshop.states.tasks import CREATE_TASK
from cardshop.store import new_id, now
from cardshop.store.transitions import initial_history

_runs = itertools.count()


@pytest.fixture
def db(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    database = client["unit_monitor"]
    for username, role in (("crea1", "creator"), ("writ1", "writer")):
        database.users.update_one({"username": username}, {"$set": {"role": role, "active": True}}, upsert=True)
    yield database
    client.close()


def task(db, **fields):
    doc = {"_id": new_id(), "kind": "create", "order": new_id(), "status": "pending", "rev": 0,
           "statuses": initial_history(CREATE_TASK, "scheduler", now()), **fields}
    db.tasks.insert_one(doc)
    return doc["_id"]


def report(task_id, seq, status=None, run=None, **fields):
    body = {"task": task_id, "run": run or f"{next(_runs):032x}", "seq": seq, "at": "2026-01-01T00:00:00Z"}
    if status:
        body.update(type="status", status=status)
    return {**body, **fields}


def claimed(applier, task_id, sender="crea1"):
    """The run of an accepted claim of the task (a new process each time: it takes over a run it finds)."""
    grant = new_grant()
    applier.db.tasks.update_one({"_id": task_id}, {"$set": {"grant_digest": grant_digest(grant)}})
    run = f"{next(_runs):032x}"
    answer = ClaimDecider(applier.db, applier.role_of).decide(
        {"type": "claim", "task": task_id, "attempt": 1, "grant": grant, "run": run, "worker": f"{sender}@host",
         "instance": uuid.uuid4().hex}, sender)
    assert answer["decision"] == "accepted", answer
    return run


def test_a_report_on_a_task_nobody_knows_is_unknown(db):
    assert ReportApplier(db).apply(report(new_id(), 1, "received"), "crea1") == UNKNOWN


@pytest.mark.parametrize("sender, status, outcome", [
    ("writ1", "received", REFUSED),  # a writer may not report on a create task
    ("crea1", "building", STALE),  # only an accepted claim starts a run
    ("crea1", "received", STALE),  # `received` no longer claims anything
], ids=["a-writer-on-a-create-task", "a-report-without-a-claim", "received-without-a-claim"])
def test_a_report_that_cannot_claim_the_task_changes_nothing(db, sender, status, outcome):
    task_id = task(db)
    assert ReportApplier(db).apply(report(task_id, 1, status), sender) == outcome
    assert db.tasks.find_one({"_id": task_id})["status"] == "pending"


def test_a_claim_makes_the_task_received_and_later_steps_move_it_forward(db):
    applier, task_id = ReportApplier(db), task(db)
    run = claimed(applier, task_id)
    assert applier.apply(report(task_id, 2, "building", run=run), "crea1") == APPLIED
    stored = db.tasks.find_one({"_id": task_id})
    assert stored["status"] == "building" and stored["worker"] == "crea1" and stored["runs"] == 1


def test_a_report_numbered_no_higher_than_the_last_is_a_duplicate(db):
    applier, task_id = ReportApplier(db), task(db)
    run = claimed(applier, task_id)
    applier.apply(report(task_id, 2, "downloading", run=run), "crea1")
    assert applier.apply(report(task_id, 2, "building", run=run), "crea1") == DUPLICATE
    assert db.tasks.find_one({"_id": task_id})["status"] == "downloading"


def test_a_new_run_takes_over_without_moving_the_task_back_and_the_old_run_goes_stale(db):
    applier, task_id = ReportApplier(db), task(db)
    old = claimed(applier, task_id)
    applier.apply(report(task_id, 2, "building", run=old), "crea1")
    new = claimed(applier, task_id)
    assert applier.apply(report(task_id, 2, "downloading", run=new), "crea1") in (DUPLICATE, STALE)
    assert applier.apply(report(task_id, 3, "done", run=old), "crea1") == STALE
    stored = db.tasks.find_one({"_id": task_id})
    assert stored["status"] == "building" and stored["run"] == new and stored["runs"] == 2


def test_a_status_the_task_cannot_have_is_refused(db):
    applier, task_id = ReportApplier(db), task(db)
    run = claimed(applier, task_id)
    assert applier.apply(report(task_id, 2, "written", run=run), "crea1") == REFUSED
    assert db.tasks.find_one({"_id": task_id})["status"] == "received"


def test_a_failure_keeps_its_note_as_the_reason(db):
    applier, task_id = ReportApplier(db), task(db)
    run = claimed(applier, task_id)
    assert applier.apply(report(task_id, 2, "failed", run=run, note="disk full"), "crea1") == APPLIED
    stored = db.tasks.find_one({"_id": task_id})
    assert stored["status"] == "failed" and stored["reason"] == "disk full"


def test_a_disabled_users_reports_stop_counting(db):
    db.users.update_one({"username": "crea2"}, {"$set": {"role": "creator", "active": False}}, upsert=True)
    assert ReportApplier(db).apply(report(task(db), 1, "received"), "crea2") == REFUSED


def test_a_failure_marked_retryable_keeps_the_mark_and_nothing_else(db):
    applier = ReportApplier(db)
    marked, other = task(db), task(db)
    for task_id, result in ((marked, {"retryable": True}), (other, {"image": "forged.img.zst"})):
        run = claimed(applier, task_id)
        assert applier.apply(report(task_id, 2, "failed", run=run, result=result), "crea1") == APPLIED
    assert db.tasks.find_one({"_id": marked})["result"] == {"retryable": True}
    assert "result" not in db.tasks.find_one({"_id": other})
