"""Where an order's write tasks go: one live writer host for all of them.

A writer host is a writer user (one per host, queue `write.<user>`). It is
live while one of its registered slots (store/writer_slots.py) is online
and live: the monitor files each heartbeat with a `live_until` of
`monitor.writer_timeout` seconds later, so the monitor, the beat and the API
agree on what live means. Heartbeats come from a writer@<slot> process, or
host-wide from a host with registered slots. Its free slots are its
live registered slot workers that are `ready` or `empty`; a host that sends
no slot states counts its announced `slots` (at most its registered ones)
minus its unfinished write tasks. Unregistered slots never count.

An order's cards are shipped together, so its next write task goes where its
live write tasks are, while that host is live; otherwise to a live host that
already holds the order's image, then to the one with the most free slots.
"""

import logging

from cardshop.pipeline.heartbeat import FREE_STATES, MAX_SLOTS, slot_of
from cardshop.states.tasks import WRITE_TASK
from cardshop.store import now, orders, tasks, workers, writer_slots

log = logging.getLogger(__name__)


class Placement:
    def __init__(self, db):
        self.db = db

    def live_hosts(self):
        """{writer username: {"images": set, "free": n}} of the hosts with live registered slots."""
        docs = list(workers.live_writers_at(self.db, now()))
        registered = writer_slots.numbers_by_host(self.db, {doc["username"] for doc in docs})
        hosts = {}
        for doc in docs:
            if not is_registered(registered, doc["username"], doc["_id"]):
                continue  # a slot, or a host, nobody registered
            numbers = registered[(doc["username"], slot_of(doc["_id"])[0])]
            host = hosts.setdefault(doc["username"], {"images": set(), "free": 0, "announced": 0, "slot_workers": 0})
            host["images"].update(_images(doc))
            slot = doc.get("slot")
            if isinstance(slot, dict):
                host["slot_workers"] += 1
                host["free"] += slot.get("state") in FREE_STATES
            else:
                host["announced"] += min(_slots(doc), len(numbers))
        for username, host in hosts.items():
            if not host["slot_workers"]:
                busy = tasks.count_writes_on_not_in(self.db, username, WRITE_TASK.ended)
                host["free"] = max(0, host["announced"] - busy)
        return hosts

    def choose(self, image, exclude=(), hosts=None):
        """The best live host for a new order's tasks: holding the image, then most free slots; or None."""
        hosts = self.live_hosts() if hosts is None else hosts
        candidates = [name for name in hosts if name not in exclude]
        if not candidates:
            return None
        return min(candidates, key=lambda name: (image not in hosts[name]["images"], -hosts[name]["free"], name))

    def writer_for(self, order_id, exclude=()):
        """The host for the order's next write task: the live host its live tasks are on, else `choose`."""
        hosts = self.live_hosts()
        for task in tasks.placed_writes_not_in(self.db, order_id, WRITE_TASK.ended):
            if task["writer"] in hosts and task["writer"] not in exclude:
                return task["writer"]
        order = orders.find(self.db, order_id, orders.IMAGE_NAME_FIELDS) or {"_id": order_id}
        return self.choose(orders.image_name(order), exclude, hosts)


def is_registered(registered, username, worker):
    """Whether `worker` (`<user>@<host>.slot-<N>`) is a registered slot, or (`<user>@<host>`) a host with
    registered slots; `registered` is what writer_slots.numbers_by_host gave for its user."""
    host, number = slot_of(worker)
    numbers = registered.get((username, host), ())
    return number in numbers if number is not None else bool(numbers)


def _slots(host):
    """The host's announced slots; a value heartbeats could not have carried counts as none."""
    slots = host.get("slots", 1)
    if isinstance(slots, bool) or not isinstance(slots, int) or not 0 <= slots <= MAX_SLOTS:
        log.warning("writer host %s has an invalid slot count %r; it gets no work", host.get("_id"), slots)
        return 0
    return slots


def _images(host):
    images = host.get("images")
    return [name for name in images if isinstance(name, str)] if isinstance(images, list) else []
