"""Claiming a delivered task as a worker does: ask the monitor over RabbitMQ, with the message's grant."""

import time
import uuid

from cardshop.pipeline.claims import ClaimClient
from cardshop.pipeline.reports import Reporter


def claim(app, username, payload, run=None, host="host", slot=None, card=None, renew=False, instance=None,
          timeout=15):
    """The monitor's answer (a dict) to one claim of `payload` (the task message's kwargs)."""
    client = ClaimClient(app, username, host)
    body = client.request(payload, run or uuid.uuid4().hex, slot, card, renew)
    if instance is not None:
        body["instance"] = instance
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            answer = client.ask(body)
            if answer is not None:
                return answer
        raise AssertionError(f"no answer to the claim of task {payload['task']} in {timeout} s")
    finally:
        client.close()


def accepted(app, username, payload, **fields):
    """Claim and expect it accepted; the run that holds the task now."""
    run = fields.pop("run", None) or uuid.uuid4().hex
    answer = claim(app, username, payload, run=run, **fields)
    assert answer["decision"] == "accepted", answer
    return run


def holder(app, username, task_id, queue="create", **fields):
    """A Reporter for the run that holds the task: its message taken from `queue` and claimed."""
    from tests.integration.pipeline.test_monitor import take_message  # (it imports this module)
    run = accepted(app, username, take_message(app, queue, task_id)[1], **fields)
    return Reporter(app, username, task_id, run=run)
