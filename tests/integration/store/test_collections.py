"""Each collection's store maps a unique-index clash to its own error, naming what clashed, on FerretDB
(which reports a clash on update as its error 1, not MongoDB's 11000)."""

import pymongo
import pytest

from cardshop.store import ensure_indexes, new_id, schedules, users, warehouses


@pytest.fixture(scope="module")
def db(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    database = client["unit_collections"]
    ensure_indexes(database)
    yield database
    client.close()


def user(name, email=None):
    return {"_id": new_id(), "username": name, "email": email or f"{name}@example.org", "role": "writer",
            "active": True}


def test_a_taken_username_is_named(db):
    users.insert(db, user("ada"))
    with pytest.raises(users.UserTaken, match="username 'ada' is taken"):
        users.insert(db, user("ada", "other@example.org"))


def test_a_taken_email_is_named(db):
    users.insert(db, user("bob"))
    with pytest.raises(users.UserTaken, match="email 'bob@example.org' is used by another user"):
        users.insert(db, user("bobby", "bob@example.org"))


def test_changing_to_another_users_email_is_refused_and_changes_nothing(db):
    users.insert(db, user("cy"))
    users.insert(db, user("di"))
    with pytest.raises(users.UserTaken, match="email 'cy@example.org' is used by another user"):
        users.update(db, "di", {"email": "cy@example.org"})
    assert users.find(db, "di")["email"] == "di@example.org"


def test_users_are_counted_by_role_and_flag(db):
    users.insert(db, {**user("ed"), "role": "manager", "active": False})
    assert users.count_with_role(db, "manager") == 1
    assert users.count_with_role(db, "manager", active=True) == 0


def test_a_warehouse_name_is_taken_once(db):
    warehouses.insert(db, {"_id": new_id(), "name": "north", "default": True})
    with pytest.raises(warehouses.WarehouseExists, match="warehouse 'north' exists"):
        warehouses.insert(db, {"_id": new_id(), "name": "north", "default": False})


def test_the_last_warehouse_made_default_is_the_only_one(db):
    for name in ("east", "west"):
        warehouses.insert(db, {"_id": new_id(), "name": name, "default": True})
        warehouses.make_default(db, name)
    assert [doc["name"] for doc in db.warehouses.find({"default": True})] == ["west"]


def test_a_schedule_name_is_taken_once_and_timing_fields_can_be_dropped(db):
    schedules.insert(db, {"_id": new_id(), "name": "nightly", "job": "purge_tokens", "every": 60})
    with pytest.raises(schedules.ScheduleExists, match="schedule 'nightly' exists"):
        schedules.insert(db, {"_id": new_id(), "name": "nightly", "job": "purge_tokens", "every": 5})
    schedules.update(db, "nightly", {"crontab": "0 3 * * *"}, unset=["every"])
    stored = schedules.find(db, "nightly")
    assert stored["crontab"] == "0 3 * * *" and "every" not in stored
