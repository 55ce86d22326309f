"""Claim decisions (monitor/claims.py) on a real FerretDB, with the lease clock in the test's hands."""

import datetime
import uuid

import pymongo
import pytest

from cardshop.monitor.claims import WAIT_AT_MOST, ClaimDecider
from cardshop.pipeline.claims import LEASE, grant_digest, new_grant
from cardshop.states.tasks import CREATE_TASK, WRITE_TASK
from cardshop.store import new_id, now
from cardshop.store.transitions import initial_history, transition

CARD = {"size": 4 * 10 ** 9, "serial": "0xA"}


@pytest.fixture
def db(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    database = client["unit_claims"]
    yield database
    client.close()


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


ROLES = {"crea1": "creator", "crea2": "creator", "writ1": "writer", "writ2": "writer"}


def decider(db, clock, registered=None):
    return ClaimDecider(db, ROLES.get, slot_registered=registered, clock=clock)


def task(db, kind="create", **fields):
    grant = new_grant()
    machine = CREATE_TASK if kind == "create" else WRITE_TASK
    doc = {"_id": new_id(), "kind": kind, "order": new_id(), "status": "pending", "rev": 0,
           "statuses": initial_history(machine, "scheduler", now()), "grant_digest": grant_digest(grant), **fields}
    db.tasks.insert_one(doc)
    return doc["_id"], grant


def ask(decider, task_id, grant, sender="crea1", host="h1", instance=None, run=None, **fields):
    request = {"type": "claim", "task": task_id, "attempt": 1, "grant": grant, "run": run or uuid.uuid4().hex,
               "worker": f"{sender}@{host}", "instance": instance or "a" * 32, **fields}
    answer = decider.decide(request, sender)
    return answer["decision"], answer.get("reason", ""), request["run"]


def test_the_first_claim_is_accepted_and_makes_the_task_received(db):
    task_id, grant = task(db)
    decision, _, run = ask(decider(db, Clock()), task_id, grant)
    stored = db.tasks.find_one({"_id": task_id})
    assert decision == "accepted" and (stored["status"], stored["run"], stored["worker"]) == ("received", run, "crea1")
    assert stored["claim"] == {"host": "h1", "instance": "a" * 32, "slot": None, "card": None}


def test_a_claim_with_another_grant_attempt_or_user_is_refused(db):
    task_id, grant = task(db)
    claims = decider(db, Clock())
    assert ask(claims, task_id, grant, attempt=2)[:2] == ("refused", "attempt 2 is not the task's")
    assert ask(claims, task_id, new_grant())[:2] == ("refused", "this delivery was superseded (the task was "
                                                                 "published again)")
    assert ask(claims, task_id, grant, sender="writ1")[0] == "refused"
    request = {"type": "claim", "task": task_id, "attempt": 1, "grant": grant, "run": "b" * 32, "worker": "crea2@h",
               "instance": "a" * 32}
    assert claims.decide(request, "crea1")["decision"] == "refused"  # a name that is not the sender's
    assert db.tasks.find_one({"_id": task_id})["status"] == "pending"


def test_another_host_waits_for_a_live_holder_then_takes_over_once_its_lease_ran_out(db):
    clock = Clock()
    task_id, grant = task(db)
    claims = decider(db, clock)
    ask(claims, task_id, grant, host="h1")
    run = uuid.uuid4().hex
    assert ask(claims, task_id, grant, host="h2", run=run)[0] == "wait"
    clock.now += LEASE + 1
    assert ask(claims, task_id, grant, host="h2", run=run)[0] == "wait", "claimed less than a lease ago"
    db.tasks.update_one({"_id": task_id}, {"$set": {"claimed_at": now() - datetime.timedelta(seconds=LEASE + 1)}})
    assert ask(claims, task_id, grant, host="h2", run=run)[0] == "accepted"
    assert db.tasks.find_one({"_id": task_id})["runs"] == 2


def test_a_renewing_holder_keeps_its_task_and_a_waiting_claim_is_refused_in_the_end(db):
    clock = Clock()
    task_id, grant = task(db)
    claims = decider(db, clock)
    _, _, holder = ask(claims, task_id, grant, host="h1")
    waiting = uuid.uuid4().hex
    while clock.now < 1000 + WAIT_AT_MOST + 10:
        clock.now += LEASE / 3
        assert ask(claims, task_id, grant, host="h1", run=holder, renew=True)[0] == "accepted"
        decision, reason, _ = ask(claims, task_id, grant, host="h2", run=waiting)
        assert decision in ("wait", "refused")
    assert (decision, reason) == ("refused", "held by a live run (crea1)")
    assert db.tasks.find_one({"_id": task_id})["run"] == holder


def test_a_new_process_on_the_holders_host_takes_over_at_once(db):
    task_id, grant = task(db)
    claims = decider(db, Clock())
    ask(claims, task_id, grant, instance="1" * 32)
    assert ask(claims, task_id, grant, instance="2" * 32)[0] == "accepted"


def test_a_renewal_of_an_ended_task_is_refused(db):
    clock = Clock()
    task_id, grant = task(db)
    claims = decider(db, clock)
    _, _, run = ask(claims, task_id, grant)
    transition(db.tasks, task_id, CREATE_TASK, "canceled", "admin")
    claims.forget(task_id)  # the monitor saw it end
    decision, reason, _ = ask(claims, task_id, grant, run=run, renew=True)
    assert (decision, reason) == ("refused", "the task is canceled")


def test_a_write_task_is_claimed_for_a_registered_slot_of_its_host_that_holds_nothing_else(db):
    registered = {("writ1", "h1", 1), ("writ1", "h1", 2)}
    claims = decider(db, Clock(), registered=lambda user, host, slot: (user, host, slot) in registered)
    first, first_grant = task(db, "write", writer="writ1")
    second, second_grant = task(db, "write", writer="writ1")
    assert ask(claims, first, first_grant, sender="writ2", slot=1, card=CARD)[0] == "refused"  # not its host
    assert ask(claims, first, first_grant, sender="writ1", slot=3, card=CARD)[1].startswith("slot 3 of host h1 "
                                                                                          "is not registered")
    assert ask(claims, first, first_grant, sender="writ1")[1] == "a write task's claim names the slot and the card"
    assert ask(claims, first, first_grant, sender="writ1", slot=1, card=CARD)[0] == "accepted"
    assert ask(claims, second, second_grant, sender="writ1", slot=1, card=CARD)[1] == f"slot 1 holds task {first} already"
    assert ask(claims, second, second_grant, sender="writ1", slot=2, card=CARD)[0] == "accepted"
    assert claims.holds_slot("writ1", "h1", 1, first) and not claims.holds_slot("writ1", "h1", 1, second)
