"""The tasks' lives: steps that only move forward, and three ways to end early.

A task may skip steps (a cached download goes straight to building) but never
goes back. A retry is a new task document, so ended tasks stay ended.

One way back: a write task whose card failed (removed, write error,
verification mismatch, too small) is `requeued` from any working step: its
message went back to RabbitMQ for another card, and the next run's `received`
goes on from there. Like `pending`, it waits in the queue (nobody holds it).
"""

from cardshop.states.machine import Machine

_ENDINGS = ("failed", "canceled", "timed_out")


def _forward_machine(name, steps, requeue=None):
    transitions = {}
    for index, status in enumerate(steps[:-1]):
        for later in steps[index + 1:]:
            transitions[(status, later)] = later
        for ending in _ENDINGS:
            transitions[(status, ending)] = ending
    if requeue is not None:
        for status in steps[1:-1]:
            transitions[(status, requeue)] = requeue
        transitions[(requeue, steps[1])] = steps[1]  # a new run takes it from the queue
        for ending in _ENDINGS:
            transitions[(requeue, ending)] = ending
    return Machine(name, initial=steps[0], transitions=transitions,
                   final={steps[-1], *_ENDINGS}, queued={requeue} if requeue else ())


CREATE_STEPS = ("pending", "received", "downloading", "building", "uploading", "done")
WRITE_STEPS = ("pending", "received", "downloading", "waiting_for_card", "writing",
               "verifying", "written")

CREATE_TASK = _forward_machine("create task", CREATE_STEPS)
REQUEUED = "requeued"
WRITE_TASK = _forward_machine("write task", WRITE_STEPS, requeue=REQUEUED)

_BY_KIND = {"create": CREATE_TASK, "write": WRITE_TASK}
KINDS = tuple(_BY_KIND)
STATUSES = tuple(sorted(CREATE_TASK.statuses | WRITE_TASK.statuses))
WORKING = frozenset(CREATE_TASK.working | WRITE_TASK.working)  # a worker holds the task
QUEUED = frozenset(CREATE_TASK.queued | WRITE_TASK.queued)  # the task waits in RabbitMQ
ENDED = frozenset(CREATE_TASK.ended | WRITE_TASK.ended)


# How people say a task's status (the manager's pages): what it waits for or does.
LABELS = {
    "pending": "queued", "received": "claimed by a worker", "downloading": "downloading", "building": "building",
    "uploading": "uploading", "done": "done", "waiting_for_card": "waiting for a card", "writing": "writing",
    "verifying": "verifying", "written": "written", REQUEUED: "back in the queue (card failed)",
    "failed": "failed", "canceled": "canceled", "timed_out": "timed out",
}


def task_machine(kind):
    return _BY_KIND[kind]
