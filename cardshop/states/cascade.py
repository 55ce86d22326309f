"""What a task's status means for its order: (task kind, task status) -> order event.

The monitor applies it when a report moves a task; the beat applies the
failure events when a task times out for the last time. Two rows need more
than the table: a create task `done` takes `create_done_download` instead for
a download order, and `writes_done` waits until the order's quantity of write
tasks is written. A `requeued` write task (waiting in RabbitMQ for another
card) calls for nothing: its order stays where it is.
"""

from cardshop.states.tasks import CREATE_TASK, WRITE_TASK

ORDER_EVENTS = {
    **{("create", status): "create_started" for status in CREATE_TASK.working},
    ("create", "done"): "create_done_physical",
    ("create", "failed"): "create_failed",
    **{("write", status): "write_started" for status in WRITE_TASK.working},
    ("write", "written"): "writes_done",
    ("write", "failed"): "write_failed",
}

STARTED = frozenset({"create_started", "write_started"})
FAILED = frozenset({"create_failed", "write_failed"})


def order_event(kind, status):
    """The order event a task of `kind` reaching `status` calls for, or None."""
    return ORDER_EVENTS.get((kind, status))
