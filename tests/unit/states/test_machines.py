"""The order and task tables, and properties that hold for any sequence of events."""

import pytest
from hypothesis import given, strategies as st

from cardshop.states import CREATE_TASK, ORDER, WRITE_TASK, IllegalTransition

ORDER_PATHS = [
    # A physical order from placement to shipping.
    (["create_started", "create_done_physical", "write_started", "writes_done", "ship"], "shipped"),
    # A download order, then its expiry.
    (["create_started", "create_done_download", "expire"], "expired"),
    (["create_started", "create_failed"], "creation_failed"),
    (["create_started", "create_failed", "retry"], "created"),
    (["create_started", "create_done_physical", "write_failed", "retry"], "pending_writer"),
    (["cancel"], "canceled"),
    (["create_started", "create_done_physical", "write_started", "cancel"], "canceled"),
]


@pytest.mark.parametrize("events, expected", ORDER_PATHS)
def test_an_order_follows_its_table(events, expected):
    status = ORDER.initial
    for event in events:
        status = ORDER.apply(status, event)
    assert status == expected


@pytest.mark.parametrize("status, event", [
    ("created", "ship"), ("shipped", "cancel"), ("canceled", "retry"), ("expired", "cancel"),
    ("ready", "ship"), ("pending_shipment", "create_started"), ("writing", "create_done_physical"),
])
def test_an_order_refuses_events_its_status_does_not_allow(status, event):
    with pytest.raises(IllegalTransition, match=f"{status}.*{event}"):
        ORDER.apply(status, event)


def test_a_task_moves_forward_and_may_skip_steps():
    assert CREATE_TASK.apply("received", "building") == "building"
    assert WRITE_TASK.apply("pending", "writing") == "writing"


@pytest.mark.parametrize("machine, status, event", [
    (CREATE_TASK, "building", "downloading"), (CREATE_TASK, "done", "failed"),
    (WRITE_TASK, "written", "canceled"), (WRITE_TASK, "verifying", "writing"),
    (WRITE_TASK, "timed_out", "pending"),
])
def test_a_task_never_moves_back_nor_out_of_an_end(machine, status, event):
    with pytest.raises(IllegalTransition):
        machine.apply(status, event)


def test_every_live_status_can_end_early():
    for machine in (CREATE_TASK, WRITE_TASK):
        for status in machine.statuses - machine.final:
            for ending in ("failed", "canceled", "timed_out"):
                assert machine.apply(status, ending) == ending


MACHINES = [ORDER, CREATE_TASK, WRITE_TASK]


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.name)
@given(data=st.data())
def test_random_events_never_leave_the_table_and_ends_stay_ended(machine, data):
    events = data.draw(st.lists(st.sampled_from(sorted(machine.events) + ["bogus"]), max_size=40))
    status = machine.initial
    ended = False
    for event in events:
        try:
            new_status = machine.apply(status, event)
        except IllegalTransition:
            continue
        assert new_status in machine.statuses
        assert not ended, f"{status} is final but {event} moved it to {new_status}"
        status = new_status
        ended = status in machine.final
    assert status in machine.statuses


@pytest.mark.parametrize("machine", [CREATE_TASK, WRITE_TASK], ids=lambda m: m.name)
@given(data=st.data())
def test_task_steps_only_move_forward(machine, data):
    steps = [s for s in (("pending", "received", "downloading", "building", "uploading", "done")
                         if machine is CREATE_TASK else
                         ("pending", "received", "downloading", "waiting_for_card", "writing",
                          "verifying", "written"))]
    events = data.draw(st.lists(st.sampled_from(steps), max_size=20))
    status = machine.initial
    for event in events:
        try:
            new_status = machine.apply(status, event)
        except IllegalTransition:
            continue
        assert steps.index(new_status) > steps.index(status)
        status = new_status
