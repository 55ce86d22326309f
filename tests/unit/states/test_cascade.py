"""The (task kind, task status) -> order event table and the machines' working sets."""

import pytest

from cardshop.states import CREATE_TASK, ORDER, ORDER_EVENTS, WRITE_TASK, order_event
from cardshop.states.tasks import ENDED, WORKING


def test_every_event_in_the_table_is_an_order_event():
    assert set(ORDER_EVENTS.values()) <= ORDER.events


@pytest.mark.parametrize("kind, machine", [("create", CREATE_TASK), ("write", WRITE_TASK)])
def test_every_working_status_starts_the_order_step(kind, machine):
    assert {order_event(kind, status) for status in machine.working} == {f"{kind}_started"}


@pytest.mark.parametrize("kind", ["create", "write"])
def test_a_failed_task_fails_its_order_step(kind):
    assert order_event(kind, "failed") == f"{kind}_failed"


@pytest.mark.parametrize("status", ["pending", "canceled", "timed_out"])
def test_waiting_and_abandoned_tasks_leave_the_order_alone(status):
    assert order_event("create", status) is None and order_event("write", status) is None


def test_working_statuses_are_neither_initial_nor_ended():
    assert WORKING == {"received", "downloading", "building", "uploading",
                       "waiting_for_card", "writing", "verifying"}
    assert not WORKING & ENDED


def test_a_step_added_to_a_machine_counts_as_working():
    assert "verifying" in WRITE_TASK.working and "verifying" not in CREATE_TASK.working


def test_a_requeued_write_task_waits_in_the_queue_and_leaves_the_order_alone():
    assert "requeued" in WRITE_TASK.queued and "requeued" not in WORKING
    assert order_event("write", "requeued") is None
    for step in ("received", "downloading", "waiting_for_card", "writing", "verifying"):
        assert WRITE_TASK.apply(step, "requeued") == "requeued"
    assert WRITE_TASK.apply("requeued", "received") == "received"
    for ending in ("failed", "canceled", "timed_out"):
        assert WRITE_TASK.apply("requeued", ending) == ending
    assert "requeued" not in CREATE_TASK.statuses


def test_moving_an_orders_write_tasks_to_another_host_keeps_its_status():
    assert ORDER.apply("writing", "writer_moved") == "writing"
    assert ORDER.apply("pending_writer", "writer_moved") == "pending_writer"
