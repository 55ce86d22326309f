"""GET /workers pages worker hosts: a writer host's slot workers are one entry, read only for its page."""

import datetime

from tests.conftest import unique


def file_workers(db, user, docs):
    """Worker documents as the monitor files them (store/workers.py)."""
    moment = datetime.datetime.now(datetime.timezone.utc)
    db.workers.insert_many([{"username": user, "role": "writer", "online": True, "last_seen": moment,
                             "live_until": moment + datetime.timedelta(seconds=90), "first_seen": moment, **doc}
                            for doc in docs])


def test_pages_count_hosts_and_each_host_comes_whole_with_its_slots(admin, db):
    user = unique("pager")
    db.workers.delete_many({})  # the page numbers below count every record
    file_workers(db, user, [
        *({"_id": f"{user}@a.slot-{n}", "host": "a", "slot": {"number": n, "state": "ready"}} for n in (2, 1, 3)),
        {"_id": f"{user}@b", "host": "b", "role": "creator", "active": []},
        {"_id": f"{user}@c", "host": "c"},  # a host-wide record: its slots win over it
        {"_id": f"{user}@c.slot-1", "host": "c", "slot": {"number": 1, "state": "empty"}}])

    pages = [admin.get(f"/workers?per_page=1&page={page}").body for page in (1, 2, 3, 4)]
    assert [page["total"] for page in pages] == [3] * 4
    assert [[item["_id"] for item in page["items"]] for page in pages] == [
        [f"{user}@a"], [f"{user}@b"], [f"{user}@c"], []]
    host_a, creator, host_c = (page["items"][0] for page in pages[:3])
    assert [slot["number"] for slot in host_a["slot_states"]] == [1, 2, 3] and host_a["slots"] == 3
    assert creator["role"] == "creator" and "slot_states" not in creator
    assert [slot["state"] for slot in host_c["slot_states"]] == ["empty"]
    assert admin.get("/workers?per_page=2&page=2").body["items"][0]["_id"] == f"{user}@c"
