"""The `writer_slots` collection: the card slots registered for each writer host.

One document per (writer username, host, slot number); its `_id` is the slot
worker's own name, `<user>@<host>.slot-<N>`, so a slot is registered once.
An operator or admin registers a host's slots (cardshop-writer-helper
register, PUT /writer-hosts/{user}@{host}/slots); a writer account cannot.
The monitor files heartbeats of registered slots only, placement counts only
registered slots, and the claim service asks `registered_slot` before a
writer may claim a task for a slot.

    {"_id": "writer-1@rack-3.slot-2", "username": "writer-1", "host": "rack-3", "number": 2,
     "reader": {"match": {"ID_PATH": "pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0"},
                "device": "/dev/cardshop/slot-2", "label": "Generic SD reader"},
     "registered_by": "ada", "registered_at": <time>}
"""


def slot_id(username, host, number):
    """The registration's id: the slot worker's name `<user>@<host>.slot-<N>`."""
    return f"{username}@{host}.slot-{number}"


def registered_slot(db, username, host, number):
    """The registration of slot `number` of writer `username`'s host `host`, or None."""
    return db.writer_slots.find_one({"_id": slot_id(username, host, number)})


def host_slots(db, username, host):
    """The registrations of one host's slots, by number (empty when it has none)."""
    return sorted(db.writer_slots.find(host_filter(username, host)), key=lambda doc: doc["number"])


def host_filter(username, host):
    return {"username": username, "host": host}


def numbers_by_host(db, usernames):
    """{(username, host): {slot numbers}} registered for these writers (all their hosts)."""
    found = {}
    for doc in db.writer_slots.find({"username": {"$in": sorted(usernames)}},
                                    {"username": 1, "host": 1, "number": 1}):
        found.setdefault((doc["username"], doc["host"]), set()).add(doc["number"])
    return found


def hosts_of(db, username):
    """The hosts writer `username` has slots registered on, sorted."""
    return sorted({host for _, host in numbers_by_host(db, [username])})


def replace_host(db, username, host, slots, by, moment):
    """Make `slots` ([{"number", "reader"}]) the host's registered slots; returns the numbers it lost.

    A slot whose reader is unchanged keeps who registered it and when. Not atomic
    across slots (no transactions on FerretDB): a reader during the change may see
    the new slots before the old ones go.
    """
    current = {doc["number"]: doc for doc in host_slots(db, username, host)}
    for slot in slots:
        number = slot["number"]
        if number in current and current[number]["reader"] == slot["reader"]:
            continue
        db.writer_slots.replace_one({"_id": slot_id(username, host, number)}, {
            "username": username, "host": host, "number": number, "reader": slot["reader"],
            "registered_by": by, "registered_at": moment}, upsert=True)
    lost = sorted(set(current) - {slot["number"] for slot in slots})
    if lost:
        db.writer_slots.delete_many({"_id": {"$in": [slot_id(username, host, number) for number in lost]}})
    return lost


def unregister(db, username, host, number):
    """Remove one slot's registration; False when it was not registered."""
    return db.writer_slots.delete_one({"_id": slot_id(username, host, number)}).deleted_count == 1
