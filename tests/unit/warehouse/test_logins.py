"""The warehouse's waiting room: which connections that have not logged in yet are closed, and when."""

import pytest

from cardshop.warehouse.logins import WaitingRoom


class Connection:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


def connections(prefix, count):
    return [Connection(f"{prefix}{number}") for number in range(count)]


def test_one_address_beyond_its_share_loses_its_own_oldest_connection():
    room = WaitingRoom(total=100, per_address=3)
    other = Connection("other")
    assert room.enter(other, "10.0.0.9") == []
    flood = connections("flood", 5)
    closed = [room.enter(connection, "10.0.0.1") for connection in flood]
    assert closed == [[], [], [], [flood[0]], [flood[1]]]
    assert room.deadline_passed(other), "the other address's connection still waits"


def test_beyond_the_total_the_address_with_the_most_waiting_loses_its_oldest():
    room = WaitingRoom(total=6, per_address=4)
    worker = Connection("worker")
    room.enter(worker, "10.0.0.9")
    crowd = connections("a", 3) + connections("b", 2)
    for connection, address in zip(crowd, ["10.0.0.1"] * 3 + ["10.0.0.2"] * 2):
        assert room.enter(connection, address) == []
    newcomer = Connection("newcomer")
    assert room.enter(newcomer, "10.0.0.3") == [crowd[0]]  # 10.0.0.1 had three waiting
    later = Connection("later")
    assert room.enter(later, "10.0.0.3") == [crowd[1]]  # ties: the longest waiting address first
    assert room.deadline_passed(worker), "the worker's connection still waits"


def test_a_new_connection_is_always_let_in():
    room = WaitingRoom(total=1, per_address=1)
    first, second = Connection("first"), Connection("second")
    room.enter(first, "10.0.0.1")
    assert room.enter(second, "10.0.0.1") == [first]
    assert room.deadline_passed(second)


def test_a_connection_whose_password_is_being_checked_is_not_closed_to_make_room():
    room = WaitingRoom(total=2, per_address=2)
    checked, idle = Connection("checked"), Connection("idle")
    room.enter(checked, "10.0.0.1")
    room.enter(idle, "10.0.0.1")
    room.begin_check(checked)
    assert room.enter(Connection("new"), "10.0.0.1") == [idle]


@pytest.mark.parametrize("deadline_during_check", [True, False])
def test_a_deadline_waits_for_the_password_check_and_closes_once_the_check_failed(deadline_during_check):
    room = WaitingRoom(total=4, per_address=4)
    connection = Connection("wrong password")
    room.enter(connection, "10.0.0.1")
    room.begin_check(connection)
    if deadline_during_check:
        assert not room.deadline_passed(connection), "not while the scheduler answers"
    assert room.end_check(connection) == deadline_during_check
    if not deadline_during_check:
        assert room.deadline_passed(connection)
    assert not room.end_check(connection) and not room.deadline_passed(connection), "closed once"


def test_logged_in_connections_leave_and_are_neither_counted_nor_closed():
    room = WaitingRoom(total=2, per_address=2)
    logged_in = connections("in", 2)
    for connection in logged_in:
        room.enter(connection, "10.0.0.1")
        room.begin_check(connection)
        room.leave(connection)
        room.leave(connection)  # and closed later: leaving twice is harmless
    assert not room.deadline_passed(logged_in[0])
    assert room.enter(Connection("a"), "10.0.0.1") == [] and room.enter(Connection("b"), "10.0.0.1") == []
