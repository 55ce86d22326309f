"""Apply one report to its task, once, in order, from its owner only.

Rules:
- the sender (RabbitMQ's validated user_id) must be allowed to hold the task:
  any creator for a create task, the assigned writer host for a write task;
- only the run whose claim was accepted (monitor/claims.py) reports on the
  task; reports of any other run (older, or never accepted) are ignored;
- within a run, a report whose number is not above the last applied one is
  a duplicate and is ignored;
- statuses only move forward through the task's state machine: a new run
  that repeats earlier steps does not move the task back;
- a create task's `done` counts only once its result is checked against the
  warehouse (monitor/results.py), a write task's `written` once its result
  matches the order (monitor/written.py); a result that does not hold fails
  the task.

Reports reach here schema-valid (the monitor validates every message first).
"""

import logging
import time

from cardshop.auth import roles
from cardshop.monitor.written import MAX_CARD_RATE, written_problem
from cardshop.states import IllegalTransition, task_machine
from cardshop.states.tasks import ENDED
from cardshop.store import now, task_logs, tasks, users
from cardshop.store.transitions import transition

log = logging.getLogger(__name__)

STOPPED = ("canceled", "timed_out")  # ended by us, not by its worker, which may not know yet
RETRYABLE = {"retryable": True}  # the one result a failed report may carry

APPLIED, DUPLICATE, STALE, REFUSED, UNKNOWN = "applied", "duplicate", "stale", "refused", "unknown"
_FINAL = ENDED
ROLE_CACHE_SECONDS = 60  # a disabled or re-roled user's reports stop counting within this


class ReportApplier:
    def __init__(self, db, cascades=None, results=None, max_card_rate=MAX_CARD_RATE):
        self.db = db
        self.cascades = cascades
        self.results = results
        self.claims = None  # the ClaimDecider, for `written` and to forget ended tasks' leases
        self.max_card_rate = max_card_rate
        self._roles = {}

    def role_of(self, username):
        """The user's role while active, else None (cached ROLE_CACHE_SECONDS)."""
        cached = self._roles.get(username)
        if cached is None or cached[0] < time.monotonic():
            user = users.find(self.db, username, {"role": 1, "active": 1})
            role = user["role"] if user and user.get("active") else None
            cached = self._roles[username] = (time.monotonic() + ROLE_CACHE_SECONDS, role)
        return cached[1]

    def _may_hold(self, task, sender):
        role = self.role_of(sender)
        if task["kind"] == "create":
            return role == roles.CREATOR
        return role == roles.WRITER and task.get("writer") == sender

    def apply(self, report, sender):
        """Apply the report; returns one of APPLIED, DUPLICATE, STALE, REFUSED, UNKNOWN."""
        if self.claims is None:
            return self._apply(report, sender)
        with self.claims.locks(report["task"]):  # never while the claims thread writes the task
            return self._apply(report, sender)

    def _apply(self, report, sender):
        if report["type"] == "progress" and sender and self._progress_fast(report, sender):
            return APPLIED
        task = tasks.find(self.db, report["task"],
                          {"kind": 1, "status": 1, "run": 1, "last_seq": 1, "writer": 1, "order": 1, "worker": 1,
                           "claim": 1, "claimed_at": 1, "log_lines": 1, "log_bytes": 1})
        if task is None:
            return UNKNOWN
        if not sender or not self._may_hold(task, sender):
            log.warning("refused a report on task %s from %r: not its worker", task["_id"], sender)
            return REFUSED
        if task["status"] in STOPPED and self.cascades is not None:
            self.cascades.still_running(task)  # its worker goes on after we ended the task: tell it again
        machine = task_machine(task["kind"])
        if task.get("run") != report["run"] or task.get("worker") != sender:
            if not self._follow(task, report, sender):
                return STALE
            task = tasks.find(self.db, task["_id"])
        if report["seq"] <= task.get("last_seq", 0):
            return DUPLICATE
        handler = {"status": self._status, "progress": self._progress, "log": self._log}[report["type"]]
        return handler(task, report, sender, machine)

    def _follow(self, task, report, sender):
        """Whether the report's run holds the task, bringing the task up to date with claims already won.

        Runs are started only by an accepted claim (monitor/claims.py), never by a
        report: a report of any other run is stale. The commits are the truth and
        the task's `run` a copy, which a monitor dying in between can leave behind.
        """
        record = tasks.latest_takeover(self.db, task["_id"], task.get("run"))
        if record is not None:
            self._take(task["_id"], record)
        return (record or task).get("run") == report["run"] and (record or task).get("worker") == sender

    def _take(self, task_id, record):
        """Write a won takeover on the task; idempotent, so anyone may (re)do it."""
        tasks.take_over(self.db, task_id, record)

    def _bump(self, task, report, changes=None):
        return tasks.record_report(self.db, task["_id"], report["run"], report["seq"], now(), changes)

    def _status(self, task, report, sender, machine):
        status = report.get("status")
        if status not in machine.statuses:
            log.warning("task %s: %s reported unknown status %r", task["_id"], sender, status)
            self._bump(task, report)
            return REFUSED
        note = report.get("note")
        extra = {"last_seq": report["seq"], "last_report_at": now()}
        if status == "done" and task["kind"] == "create" and "done" in machine.allowed(task["status"]):
            problem = self.results.problem(task, report.get("result")) if self.results else None
            if problem:
                log.warning("task %s: refused the result %s reported: %s", task["_id"], sender, problem)
                status, note = "failed", f"result refused: {problem}"
        if status == "written" and task["kind"] == "write" and "written" in machine.allowed(task["status"]):
            problem = written_problem(self.db, task, report.get("result"), sender, self.claims, self.max_card_rate)
            if problem:
                log.warning("task %s: refused the result %s reported: %s", task["_id"], sender, problem)
                status, note = "failed", f"result refused: {problem}"
        if status in ("done", "written") and report.get("result") is not None:
            extra["result"] = report["result"]
        elif status == report.get("status") == "failed" and report.get("result") == RETRYABLE:
            extra["result"] = RETRYABLE  # the beat's retry_failed looks for it; nothing else is kept
        if status in ("failed", "canceled", "timed_out") and note:
            extra["reason"] = note
        try:
            updated = transition(self.db.tasks, task["_id"], machine, status, sender, note=note,
                                 extra=extra, guard={"run": report["run"], "last_seq": {"$lt": report["seq"]}})
        except IllegalTransition:
            # Not forward from here (a repeated step of a new run, or already ended): keep the order.
            return DUPLICATE if self._bump(task, report) else STALE
        if updated is None:
            return DUPLICATE
        if self.claims is not None and updated["status"] in machine.final:
            self.claims.forget(task["_id"])
        if self.cascades is not None:
            self.cascades.after_task_status(updated, report)
        return APPLIED

    def _progress_fast(self, report, sender):
        """The common case in one write: the holder's current run, next in order, task still live."""
        return tasks.record_progress_of_holder(self.db, report["task"], report["run"], sender, report["seq"], _FINAL,
                                               {**report.get("progress", {}), "at": now()}, now())

    def _progress(self, task, report, sender, machine):
        progress = {**report.get("progress", {}), "at": now()}
        return APPLIED if self._bump(task, report, {"progress": progress}) else DUPLICATE

    def _log(self, task, report, sender, machine):
        message = report.get("message", "")
        size = len(message.encode())
        head = (task.get("log_lines", 0) < task_logs.HEAD_LINES
                and task.get("log_bytes", 0) + size <= task_logs.HEAD_BYTES)
        number = tasks.count_log_line(self.db, task["_id"], report["run"], report["seq"], now(), size, head)
        if number is None:
            return DUPLICATE
        inserted = self._insert_log(task["_id"], report["run"], report["seq"], report.get("level", "info"), message,
                                    None if head else number)
        if not head and number > task_logs.TAIL_LINES:  # the tail moves on: its oldest line joins the counted middle
            task_logs.drop_tail_before(self.db, task["_id"], number - task_logs.TAIL_LINES + 1)
        return APPLIED if inserted else DUPLICATE

    def _insert_log(self, task_id, run, seq, level, message, tail_number):
        try:
            task_logs.insert(self.db, task_id, run, seq, level, message, now(), tail_number)
            return True
        except task_logs.LogLineExists:
            return False
