"""Playing a writer host through the real broker: slot heartbeats and write-task reports, as raw messages."""

from devstack.processes import wait_until
from tests.conftest import order_body
from tests.integration.claiming import accepted
from tests.integration.conftest import register_slots
from tests.integration.pipeline.test_monitor import create_task_of, order_in, order_of, stored_result, take_message

NOW = "2026-01-01T00:00:00Z"
IMAGE_SIZE = 9  # what stored_result says the image is
CARD = 4 * 10 ** 9


class WriterHost:
    """A writer user's host `host`, its slots sending heartbeats and its tasks' reports (a Hostile underneath);
    slots 1 to `registered` are registered by the pipeline's admin."""

    def __init__(self, account, host="host-a", registered=8):
        self.account = account
        self.username = account.username
        self.host = host
        self.registered = registered
        self.images = []
        self._seq = {}
        if registered:  # as the host's operator does with cardshop-writer-helper register
            register_slots(account.pipeline.admin, self.username, host, range(1, registered + 1))

    @property
    def name(self):
        return f"{self.username}@{self.host}"

    def slot(self, number, state="ready", **fields):
        slot = {"number": number, "state": state, "message": None, "card": {"size": CARD, "serial": None},
                "task": None, "order": None, "step": None, "percent": None, "rate": None, **fields}
        self.account.heartbeat(worker=f"{self.name}.slot-{number}", slots=1, active=0, images=self.images,
                               slot=slot)

    def slots(self, *states):
        for number, state in enumerate(states, 1):
            self.slot(number, state)
        wait_until(lambda: len(_shown(self.account, self.name).get("slot_states", [])) == len(states))

    def report(self, task_id, run, status, **fields):
        seq = self._seq[run] = self._seq.get(run, 0) + 1
        self.account.publish({"task": task_id, "run": run, "seq": seq, "type": "status", "status": status,
                              "at": NOW, **fields})

    def take(self, task_id):
        """The task's message, from this host's queue (as a slot with a fresh card gets it)."""
        return take_message(self.account.app, f"write.{self.username}", task_id)[1]

    def claim(self, task_id, slot=1, card=None, payload=None):
        """Claim the task for a slot and card (taking its message first); the run that holds it now."""
        payload = payload or self.take(task_id)
        return accepted(self.account.app, self.username, payload, host=self.host, slot=slot,
                        card=card or {"size": CARD, "serial": None})

    def write(self, task_id, result, steps=("downloading", "writing", "verifying"), run=None):
        """One run of the task, claimed for the result's slot and card, to `written` with `result`; the run."""
        if run is None:  # claimed by the result's slot when it is one of the host's, else by slot 1
            slot, card = ((result or {}).get("slot", 1), (result or {}).get("card"))
            run = self.claim(task_id, slot=slot if isinstance(slot, int) and 1 <= slot <= self.registered else 1,
                             card=card if isinstance(card, dict) and isinstance(card.get("size"), int) else None)
        for status in steps:
            self.report(task_id, run, status)
        self.report(task_id, run, "written", **({} if result is None else {"result": result}))
        return run

    def result(self, order, slot=1, serial=None, **changes):
        """The result an honest slot reports for `order`'s image."""
        return {"host": self.host, "slot": slot, "image": order["_id"], "sha256": order["image"]["sha256"],
                "image_size": IMAGE_SIZE, "mapped_bytes": 5, "verified_bytes": 5,
                "card": {"size": CARD, "serial": serial}, **changes}


def _shown(account, name):
    return account.pipeline.admin.get(f"/workers/{name}").body


def order_waiting_for_writers(pipeline, creator, quantity=2, before_done=None):
    """A physical order whose create task is done (image in the warehouse): pending_writer with its write tasks.

    `before_done(order)` runs once the order exists and before its image is ready (hosts announce it then).
    """
    order = pipeline.admin.post("/orders", order_body(quantity=quantity)).body
    if before_done is not None:
        before_done(order)
    task_id = create_task_of(order)["_id"]
    run = accepted(creator.app, creator.username, take_message(creator.app, "create", task_id)[1])
    creator.publish({"task": task_id, "run": run, "seq": 2, "type": "status", "status": "done", "at": NOW,
                     "result": stored_result(pipeline, order, task_id)})
    order_in(pipeline, order["_id"], ("pending_writer",))
    return wait_until(lambda: (lambda found: len(write_tasks(found)) == quantity and found)(
        order_of(pipeline, order["_id"])))


def only_these_writers(pipeline_db, *hosts):
    """Other tests' writer hosts go quiet (as if unplugged), so that placement chooses among `hosts`."""
    pipeline_db.workers.update_many({"role": "writer", "username": {"$nin": [host.username for host in hosts]}},
                                    {"$set": {"online": False}})


def write_tasks(order):
    return [task for task in order["tasks"] if task["kind"] == "write"]
