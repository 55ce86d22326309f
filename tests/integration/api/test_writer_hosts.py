"""Registering a writer host's slots: operators and admins do; a writer reads and unregisters only its own."""

import datetime

import pytest

from cardshop.client import ApiClient
from cardshop.store import now, writer_slots

LIVE_FOR = datetime.timedelta(seconds=90)  # monitor.writer_timeout's default


def reader(number):
    return {"match": {"ID_PATH": f"pci-0000:00:14.0-usb-0:{number}:1.0-scsi-0:0:0:0"},
            "device": f"/dev/cardshop/slot-{number}", "label": "Generic SD reader"}


def slots(*numbers):
    return {"slots": [{"number": number, "reader": reader(number)} for number in numbers]}


@pytest.fixture
def writer(make_user):
    return make_user("writer")


@pytest.fixture
def manager(make_user, scheduler):
    return ApiClient(scheduler.url, make_user("manager").access)


def record(db, name, username):
    """A worker record as the monitor files one from a heartbeat."""
    db.workers.replace_one({"_id": name}, {"username": username, "role": "writer", "online": True,
                                           "last_seen": now(), "live_until": now() + LIVE_FOR}, upsert=True)


def test_a_manager_registers_a_hosts_slots_and_the_writer_reads_its_own(manager, writer, scheduler, db):
    reply = manager.request("PUT", f"/writer-hosts/{writer.username}@rack-1/slots", slots(2, 1))
    assert reply.status == 200, reply
    assert reply.body["writer"] == writer.username and reply.body["host"] == "rack-1"
    assert [slot["number"] for slot in reply.body["slots"]] == [1, 2]
    first = reply.body["slots"][0]
    assert first["reader"] == reader(1) and first["registered_at"]
    assert first["registered_by"] != writer.username  # the manager's name
    own = ApiClient(scheduler.url, writer.access).get(f"/writer-hosts/{writer.username}@rack-1/slots")
    assert own.status == 200 and own.body == reply.body
    registered = writer_slots.registered_slot(db, writer.username, "rack-1", 2)
    assert registered["reader"] == reader(2) and registered["_id"] == f"{writer.username}@rack-1.slot-2"
    assert writer_slots.registered_slot(db, writer.username, "rack-1", 3) is None
    assert writer_slots.registered_slot(db, writer.username, "rack-2", 1) is None
    assert [doc["number"] for doc in writer_slots.host_slots(db, writer.username, "rack-1")] == [1, 2]


def test_the_writer_account_itself_may_not_register_slots(writer, scheduler, db):
    own = ApiClient(scheduler.url, writer.access)
    reply = own.request("PUT", f"/writer-hosts/{writer.username}@invented/slots", slots(*range(1, 9)))
    assert reply.status == 403 and "role 'writer' may not PUT" in reply.body["error"]
    assert writer_slots.host_slots(db, writer.username, "invented") == []


def test_putting_a_shorter_list_unregisters_the_rest_and_their_worker_records_go(admin, writer, db):
    path = f"/writer-hosts/{writer.username}@rack-1/slots"
    assert admin.request("PUT", path, slots(1, 2, 3)).status == 200
    for number in (1, 2, 3):
        record(db, f"{writer.username}@rack-1.slot-{number}", writer.username)
    kept = admin.request("PUT", path, slots(1, 2))
    assert [slot["number"] for slot in kept.body["slots"]] == [1, 2]
    assert db.workers.find_one({"_id": f"{writer.username}@rack-1.slot-3"}) is None
    assert db.workers.find_one({"_id": f"{writer.username}@rack-1.slot-1"}) is not None
    record(db, f"{writer.username}@rack-1", writer.username)  # a host-wide heartbeat's record
    assert admin.request("PUT", path, {"slots": []}).body["slots"] == []
    assert db.workers.count_documents({"username": writer.username}) == 0


def test_a_slot_registered_again_with_the_same_reader_keeps_who_registered_it(admin, manager, writer):
    path = f"/writer-hosts/{writer.username}@rack-1/slots"
    first = admin.request("PUT", path, slots(1)).body["slots"][0]
    again = manager.request("PUT", path, slots(1)).body["slots"][0]
    assert again == first
    moved = manager.request("PUT", path, {"slots": [{"number": 1, "reader": reader(7)}]}).body["slots"][0]
    assert moved["reader"] == reader(7) and moved["registered_by"] != first["registered_by"]


def test_one_slot_is_unregistered_by_an_operator_or_by_its_own_writer(admin, writer, make_user, scheduler, db):
    path = f"/writer-hosts/{writer.username}@rack-1/slots"
    admin.request("PUT", path, slots(1, 2, 3))
    record(db, f"{writer.username}@rack-1.slot-2", writer.username)
    assert admin.delete(f"{path}/2").status == 204
    assert db.workers.find_one({"_id": f"{writer.username}@rack-1.slot-2"}) is None
    again = admin.delete(f"{path}/2")
    assert again.status == 404 and again.body["error"] == (
        f"slot '2' of {writer.username}@rack-1 is not registered (registered: 1, 3)")
    own = ApiClient(scheduler.url, writer.access)
    assert own.delete(f"{path}/3").status == 204  # a host may give its own slot up (writer-helper forget)
    other = make_user("writer")
    foreign = ApiClient(scheduler.url, other.access)
    assert foreign.delete(f"{path}/1").status == 403
    assert foreign.get(path).status == 403
    assert [slot["number"] for slot in admin.get(path).body["slots"]] == [1]


def test_a_writer_account_has_slots_on_a_bounded_number_of_hosts(admin, writer):
    for host in ("h1", "h2", "h3", "h4"):  # the scheduler's default: 4
        assert admin.request("PUT", f"/writer-hosts/{writer.username}@{host}/slots", slots(1)).status == 200
    fifth = admin.request("PUT", f"/writer-hosts/{writer.username}@h5/slots", slots(1))
    assert fifth.status == 409 and "registered on 4 hosts already (h1, h2, h3, h4)" in fifth.body["error"]
    assert admin.request("PUT", f"/writer-hosts/{writer.username}@h4/slots", slots(1, 2)).status == 200
    assert admin.request("PUT", f"/writer-hosts/{writer.username}@h4/slots", {"slots": []}).status == 200
    assert admin.request("PUT", f"/writer-hosts/{writer.username}@h5/slots", slots(1)).status == 200


@pytest.mark.parametrize("body, message", [
    ({"slots": [{"number": 0, "reader": reader(1)}]}, "field 'slots.0.number'"),
    ({"slots": [{"number": 65, "reader": reader(1)}]}, "field 'slots.0.number'"),
    ({"slots": [{"number": n, "reader": reader(1)} for n in range(1, 66)]}, "field 'slots'"),
    (slots(1, 1), "field 'slots': slot 1 is listed more than once"),
    ({"slots": [{"number": 1, "reader": {**reader(1), "match": {"$where": "1"}}}]}, "field 'slots.0.reader.match'"),
    ({"slots": [{"number": 1, "reader": {**reader(1), "device": "/etc/passwd"}}]},
     "field 'slots.0.reader.device': must be a path under /dev/"),
    ({"slots": [{"number": 1}]}, "missing field 'slots.0.reader'"),
    ({}, "missing field 'slots'"),
])
def test_bad_slot_lists_are_refused_naming_what_is_wrong(admin, writer, db, body, message):
    reply = admin.request("PUT", f"/writer-hosts/{writer.username}@rack-1/slots", body)
    assert reply.status == 400 and message in reply.body["error"], reply
    assert writer_slots.host_slots(db, writer.username, "rack-1") == []


def test_hosts_that_are_no_writers_host_are_named(admin, make_user):
    creator = make_user("creator")
    cases = [("nobody-here@rack-1", 404, "no user 'nobody-here'"),
             (f"{creator.username}@rack-1", 409, "is a creator, not a writer"),
             ("rack-1", 404, "expected <writer user>@<host>"),
             ("writer-1@rack-1.slot-2", 404, "not ending in .slot-<N>"),
             ("writer-1@bad%20host", 404, "expected <writer user>@<host>")]
    for name, status, message in cases:
        reply = admin.request("PUT", f"/writer-hosts/{name}/slots", slots(1))
        assert reply.status == status and message in reply.body["error"], (name, reply)
    assert admin.delete(f"/writer-hosts/{creator.username}@rack-1/slots/x").status == 409
