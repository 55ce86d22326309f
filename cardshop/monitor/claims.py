"""The claim decisions: which run of which worker may work a delivered task (docs/decisions/claims.md).

One ClaimDecider per monitor process; the claim service's thread calls
`decide`, the report thread asks `holds_slot` when a `written` arrives.
Leases live in memory: a renewal costs one read by id, never a write, and a
restarted monitor counts every holder live for one lease from its start.

Concurrent claims of one task (two deliveries, two monitors) are decided by
the commit `tasks/<id>/after-run/<previous run>` (store/commits.py): of
concurrent inserts of one key exactly one wins, on FerretDB 1.24 and MongoDB.
"""

import dataclasses
import logging
import threading
import time

from cardshop.auth import roles
from cardshop.pipeline.claims import ACCEPTED, LEASE, REFUSED, WAIT, grant_digest
from cardshop.states import IllegalTransition, task_machine
from cardshop.states.tasks import WRITE_TASK
from cardshop.store import now, tasks, task_logs
from cardshop.store.commits import claim
from cardshop.store.transitions import transition

log = logging.getLogger(__name__)

RECHECK = 60.0  # a renewal reads the task again at most this often (endings seen here are forgotten at once)
WAIT_AT_MOST = LEASE + 15  # a run told to wait longer than this is refused: the holder is live
MAX_LEASES = 100000  # leases kept in memory before the long-unrenewed ones are dropped
_PROJECTION = {"kind": 1, "status": 1, "run": 1, "runs": 1, "worker": 1, "writer": 1, "grant_digest": 1,
               "claim": 1, "order": 1, "attempt": 1, "claimed_at": 1}


@dataclasses.dataclass(frozen=True)
class _Lease:
    run: str
    renewed: float  # when the holder last renewed (this monitor's clock)
    read: float  # when the task was last read from the database for a renewal
    sender: str
    instance: str


def _answer(request, decision, reason=None, retry_after=None):
    answer = {"task": request["task"], "run": request["run"], "decision": decision}
    if reason:
        answer["reason"] = reason
    if retry_after is not None:
        answer["retry_after"] = retry_after
    return answer


class TaskLocks:
    """One lock per task (striped): the claims thread and the reports thread never write a task at once.

    FerretDB 1.24 runs an update as read, change, write back the whole
    document: a report's update racing a claim's takeover wrote the old run's
    sequence number over the new run's, and the new run's reports were taken
    for duplicates. Within one monitor, these locks keep them apart.
    """

    def __init__(self, stripes=64):
        self._locks = [threading.Lock() for _ in range(stripes)]

    def __call__(self, task_id):
        return self._locks[hash(task_id) % len(self._locks)]


class ClaimDecider:
    def __init__(self, db, role_of, slot_registered=None, cascades=None, lease=LEASE, clock=time.monotonic,
                 locks=None):
        self.db = db
        self.locks = locks or TaskLocks()
        self.cascades = cascades  # the order follows its task's `received` (created -> creating, ...)
        self.role_of = role_of  # username -> role while active, else None
        self.slot_registered = slot_registered  # (username, host, number) -> bool; None: any slot
        self.lease = lease
        self.clock = clock
        self.started = clock()
        self._lock = threading.Lock()
        self._renewed = {}  # task id -> _Lease of its holder
        self._waiting = {}  # (task id, run) -> when it was first told to wait
        self._slots = {}  # (username, host, slot) -> (task id, instance) of its latest accepted claim
        self._cascades = []  # tasks made `received` whose order has not followed yet

    # -- leases -------------------------------------------------------------

    def _renew(self, task_id, run, sender, instance, read):
        """The holder renewed now; `read`: the task was read from the database for it."""
        now = self.clock()
        with self._lock:
            known = self._renewed.get(task_id)
            last_read = now if read or known is None or known.run != run else known.read
            self._renewed[task_id] = _Lease(run, now, last_read, sender, instance)
            if len(self._renewed) > MAX_LEASES:  # tasks ended elsewhere (canceled by the API) are never forgotten
                for stale in [key for key, lease in self._renewed.items() if now - lease.renewed > 10 * self.lease]:
                    del self._renewed[stale]

    def _renewed_lately(self, request, sender):
        """A renewal answered from memory: the same holder, renewed within a lease and read within RECHECK.

        Renewals are frequent (every holder, every few seconds); endings seen by
        this monitor are forgotten at once, and a cancel reaches the worker by
        its broadcast, so reading the task now and then is enough.
        """
        known = self._renewed.get(request["task"])
        if known is None or (known.run, known.sender, known.instance) != (request["run"], sender,
                                                                         request["instance"]):
            return False
        if self.clock() - known.renewed >= self.lease or self.clock() - known.read >= RECHECK:
            return False
        self._renew(request["task"], request["run"], sender, request["instance"], read=False)
        return True

    def _lease_live(self, task):
        """The holder renewed within a lease, was claimed less than a lease ago (by any monitor: the claim's
        time is in the database), or this monitor started less than a lease ago."""
        known = self._renewed.get(task["_id"])
        last = max(self.started, known.renewed if known and known.run == task.get("run") else 0.0)
        if self.clock() - last < self.lease:
            return True
        claimed_at = task.get("claimed_at")
        return claimed_at is not None and (now() - claimed_at).total_seconds() < self.lease

    def forget(self, task_id):
        """The task ended: its lease and waiting runs are no longer needed."""
        with self._lock:
            self._renewed.pop(task_id, None)
            for key in [key for key in self._waiting if key[0] == task_id]:
                del self._waiting[key]

    def follow_orders(self):
        """Move the orders of the tasks just claimed (after the answers went out: a claim waits for less)."""
        with self._lock:
            pending, self._cascades = self._cascades, []
        for task in pending:
            self.cascades.after_task_status(task, None)

    def holds_slot(self, username, host, slot, task_id):
        """False when the slot went on to another task since it claimed `task_id` (this monitor saw it)."""
        current = self._slots.get((username, host, slot))
        return current is None or current[0] == task_id

    # -- the decision -------------------------------------------------------

    def decide(self, request, sender):
        """The answer to a schema-valid claim request from `sender` (RabbitMQ's user_id)."""
        with self.locks(request["task"]):
            return self._decide(request, sender)

    def _decide(self, request, sender):
        if request["worker"].partition("@")[0] != sender:
            return _answer(request, REFUSED, f"{sender} cannot claim as {request['worker']}")
        if request.get("renew") and self._renewed_lately(request, sender):
            return _answer(request, ACCEPTED)
        role = self.role_of(sender)
        if role not in roles.WORKERS:
            return _answer(request, REFUSED, f"{sender} is not an active worker")
        task = tasks.find(self.db, request["task"], _PROJECTION)
        if task is None:
            return _answer(request, REFUSED, "no such task")
        if task["kind"] == "create" and role != roles.CREATOR or task["kind"] == "write" and (
                role != roles.WRITER or task.get("writer") != sender):
            return _answer(request, REFUSED, f"task {task['_id']} is not for {sender}")
        task = self._caught_up(task)
        machine = task_machine(task["kind"])
        if task.get("run") == request["run"]:  # the holder: its run id is its proof, whatever was published since
            return self._same_run(task, request, sender, machine)
        if request["attempt"] != task.get("attempt", 1):
            return _answer(request, REFUSED, f"attempt {request['attempt']} is not the task's")
        if grant_digest(request["grant"]) != task.get("grant_digest"):
            return _answer(request, REFUSED, "this delivery was superseded (the task was published again)")
        if task["status"] in machine.final:
            self.forget(task["_id"])  # its end may have been written by another path than this monitor's
            return _answer(request, REFUSED, f"the task is {task['status']}")
        if request.get("renew"):
            return _answer(request, REFUSED, "the task is held by another run now")
        host = request["worker"].partition("@")[2]
        if task["kind"] == "write":
            problem = self._slot_problem(task, request, sender, host)
            if problem:
                return _answer(request, REFUSED, problem)
        if self._held(task, machine) and not self._holder_gone(task, request, sender, host) and self._lease_live(task):
            return self._wait(task, request)
        return self._take(task, request, sender, host, machine)

    @staticmethod
    def _held(task, machine):
        """A run holds the task: it works on it, or its claim was won after the status we read.

        A pending task with a run was claimed (its `received` not written yet); a
        requeued one was handed back by its run.
        """
        return bool(task.get("run")) and (task["status"] in machine.working or task["status"] == machine.initial
                                          or task.get("overtaken", False))

    def _same_run(self, task, request, sender, machine):
        """The holder again: its answer was lost, or it renews its lease."""
        holder = task.get("claim") or {}
        if task.get("worker") != sender or holder.get("instance") not in (None, request["instance"]):
            return _answer(request, REFUSED, "this run belongs to another worker")
        if task["status"] in machine.final:
            self.forget(task["_id"])
            return _answer(request, REFUSED, f"the task is {task['status']}")
        self._renew(task["_id"], request["run"], sender, request["instance"], read=True)
        return _answer(request, ACCEPTED)

    def _slot_problem(self, task, request, sender, host):
        slot = request.get("slot")
        if slot is None or request.get("card") is None:
            return "a write task's claim names the slot and the card"
        if self.slot_registered is not None and not self.slot_registered(sender, host, slot):
            return f"slot {slot} of host {host} is not registered for {sender}"
        busy = self._slots.get((sender, host, slot))
        if busy and busy[0] != task["_id"] and busy[1] == request["instance"]:
            other = tasks.find(self.db, busy[0], {"status": 1, "run": 1})
            if other is not None and other["status"] in WRITE_TASK.working:
                return f"slot {slot} holds task {busy[0]} already"
        return None

    def _holder_gone(self, task, request, sender, host):
        """A new process on the holder's own slot (writer) or host (creator): the holder died with its process."""
        holder = task.get("claim") or {}
        return (task.get("worker") == sender and holder.get("host") == host
                and holder.get("slot") == request.get("slot")
                and holder.get("instance") not in (None, request["instance"]))

    def _wait(self, task, request):
        key = (task["_id"], request["run"])
        with self._lock:
            first = self._waiting.setdefault(key, self.clock())
        if self.clock() - first > WAIT_AT_MOST:
            with self._lock:
                self._waiting.pop(key, None)
            return _answer(request, REFUSED, f"held by a live run ({task.get('worker')})")
        return _answer(request, WAIT, f"held by run {task['run'][:8]} of {task.get('worker')}, which may be gone",
                       retry_after=5)

    def _caught_up(self, task):
        """The task as the claims won so far make it (their winner may not have written them yet).

        Nothing is written here: on FerretDB 1.24 an update rewrites the whole
        document, so a loser's write could undo the winner's status change.
        The winner writes its claim; a report of its run (apply.py) repairs it if it died.
        """
        record = tasks.latest_takeover(self.db, task["_id"], task.get("run"))
        if record is None:
            return task
        return {**task, "run": record["run"], "worker": record["worker"], "runs": record["runs"],
                "claim": record.get("claim"), "claimed_at": record["at"],
                "overtaken": True}  # the status read is older than this claim

    def _take(self, task, request, sender, host, machine):
        holder = {"host": host, "instance": request["instance"], "slot": request.get("slot"),
                  "card": request.get("card")}
        record = {"run": request["run"], "worker": sender, "runs": task.get("runs", 0) + 1, "at": now(),
                  "claim": holder}
        if not claim(self.db, tasks.after_run_key(task["_id"], task.get("run")), record):
            return _answer(request, REFUSED, "another run claimed the task first")
        tasks.take_over(self.db, task["_id"], record)
        if task["status"] in machine.queued:
            try:
                updated = transition(self.db.tasks, task["_id"], machine, "received", sender)
            except IllegalTransition:
                updated = None  # it moved meanwhile (canceled): the next renewal is refused
            if updated is not None and self.cascades is not None:
                with self._lock:  # run once the worker has its answer (the order follows: created -> creating)
                    self._cascades.append(updated)
        if task.get("run"):
            log.info("task %s taken over by %s (run %s, after run %s)", task["_id"], request["worker"],
                     request["run"], task["run"])
            try:
                task_logs.insert(self.db, task["_id"], request["run"], 0, "warning",
                                 f"redelivered: {request['worker']} restarts the task (previous run {task['run']})",
                                 now())
            except task_logs.LogLineExists:
                pass
        self._renew(task["_id"], request["run"], sender, request["instance"], read=True)
        with self._lock:
            self._waiting.pop((task["_id"], request["run"]), None)
            if request.get("slot") is not None:
                self._slots[(sender, host, request["slot"])] = (task["_id"], request["instance"])
        return _answer(request, ACCEPTED)
