"""The tasks' lives: steps that only move forward, and three ways to end early.

A task may skip steps (a cached download goes straight to building) but never
goes back. A retry is a new task document, so ended tasks stay ended.
"""

from cardshop.states.machine import Machine

_ENDINGS = ("failed", "canceled", "timed_out")


def _forward_machine(name, steps):
    transitions = {}
    for index, status in enumerate(steps[:-1]):
        for later in steps[index + 1:]:
            transitions[(status, later)] = later
        for ending in _ENDINGS:
            transitions[(status, ending)] = ending
    return Machine(name, initial=steps[0], transitions=transitions,
                   final={steps[-1], *_ENDINGS})


CREATE_STEPS = ("pending", "received", "downloading", "building", "uploading", "done")
WRITE_STEPS = ("pending", "received", "downloading", "waiting_for_card", "writing",
               "verifying", "written")

CREATE_TASK = _forward_machine("create task", CREATE_STEPS)
WRITE_TASK = _forward_machine("write task", WRITE_STEPS)

_BY_KIND = {"create": CREATE_TASK, "write": WRITE_TASK}
KINDS = tuple(_BY_KIND)
STATUSES = tuple(sorted(CREATE_TASK.statuses | WRITE_TASK.statuses))
WORKING = frozenset(CREATE_TASK.working | WRITE_TASK.working)  # a worker holds the task
ENDED = frozenset(CREATE_TASK.ended | WRITE_TASK.ended)


def task_machine(kind):
    return _BY_KIND[kind]
