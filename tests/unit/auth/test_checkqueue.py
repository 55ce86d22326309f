"""The password-check queue: lanes take turns, failing clients never hold up clean ones, bounds refuse at once."""

import itertools
import threading
import time

import pytest

from cardshop.auth.checkqueue import Busy, CheckQueue, TooManyWaiting


def fail(queue, lane):
    assert not queue.run(lane, "someone", lambda clean: False)


class Held:
    """The queue's slots taken by checks that end when told to (the clean one, and with `failing` the
    failing clients' one too); checks added after them record the order in which they ran."""

    def __init__(self, queue, clean=True, failing=False):
        self.queue, self.order, self.threads, self.errors = queue, [], [], []
        self.release = threading.Event()
        fail(queue, "failing holder")
        for kind, lane in ((0, "holder"), (1, "failing holder")):
            if (clean, failing)[kind]:
                self.threads.append(self._start(lane, "", lambda clean: self.release.wait()))
                while queue._free[kind]:
                    time.sleep(0.001)

    def _start(self, lane, account, check):
        def run():
            try:
                self.queue.run(lane, account, check)
            except Busy as exc:
                self.errors.append((lane, exc))
        thread = threading.Thread(target=run, daemon=True)  # a failed assertion never leaves the run hanging
        thread.start()
        return thread

    def add(self, lane, account="someone", right=True):
        """Start a check of `lane` and return once it waits, was refused or ran."""
        before = (self.queue._waiting, len(self.errors), len(self.order))
        self.threads.append(self._start(lane, account, lambda clean: self.order.append(lane) or right))
        while (self.queue._waiting, len(self.errors), len(self.order)) == before:
            time.sleep(0.001)

    def finish(self):
        self.release.set()
        for thread in self.threads:
            thread.join(10)
        return self.order


def test_lanes_take_turns_whoever_sent_the_most():
    held = Held(CheckQueue(size=10, per_client=5))
    for lane in ("flood", "flood", "flood", "alice", "bob"):
        held.add(lane)
    assert held.finish() == ["flood", "alice", "bob", "flood", "flood"]


def test_a_failing_clients_checks_never_hold_up_a_clean_clients_check():
    queue = CheckQueue(size=10, per_client=5)
    fail(queue, "guesser")
    held = Held(queue, clean=False, failing=True)
    held.add("guesser")
    held.add("alice")
    assert held.order == ["alice"]  # at once, while the guesser still waits
    assert held.finish() == ["alice", "guesser"]


def test_a_client_beyond_its_share_is_refused_at_once_and_others_still_wait():
    held = Held(CheckQueue(size=10, per_client=2))
    held.add("flood")
    held.add("flood")
    held.add("flood")
    assert [type(exc) for _, exc in held.errors] == [TooManyWaiting]
    held.add("alice")
    # turned away, the flood is failing: its waiting checks run apart, in the failing clients' slot
    _until(lambda: len(held.order) == 2)
    assert held.order == ["flood", "flood"]
    assert held.finish() == ["flood", "flood", "alice"]


def test_failing_clients_guessing_one_account_are_bounded_together_and_its_owner_still_gets_in():
    queue = CheckQueue(size=10, per_client=5, per_account=2)
    for lane in ("a", "b", "c"):
        fail(queue, lane)
    held = Held(queue, clean=False, failing=True)
    for lane in ("a", "b", "c"):
        held.add(lane, account="admin")
    assert [lane for lane, exc in held.errors if isinstance(exc, TooManyWaiting)] == ["c"]
    held.add("owner", account="admin")  # from an address that has not failed: at once
    assert held.order == ["owner"]
    assert held.finish() == ["owner", "a", "b"]


def test_a_clean_client_takes_the_place_of_a_failing_one_in_a_full_queue():
    queue = CheckQueue(size=2, per_client=5)
    fail(queue, "guesser")
    held = Held(queue, failing=True)
    held.add("guesser")
    held.add("guesser")
    held.add("alice")
    assert [lane for lane, _ in held.errors] == ["guesser"]
    assert sorted(held.finish()) == ["alice", "guesser"]


def test_a_full_queue_of_clean_clients_refuses_and_a_wait_has_an_end():
    held = Held(CheckQueue(size=1, per_client=5, max_wait=0.2))
    held.add("alice")
    held.add("bob")
    assert [lane for lane, _ in held.errors] == ["bob"]
    time.sleep(0.4)
    assert [lane for lane, _ in held.errors] == ["bob", "alice"]  # alice waited max_wait, then gave up
    assert held.finish() == [] and held.queue._free == [1, 1] and not held.queue._waiting


def test_a_check_that_raises_frees_its_slot():
    queue = CheckQueue()
    with pytest.raises(ZeroDivisionError):
        queue.run("alice", "alice", lambda clean: 1 / 0)
    assert queue.run("alice", "alice", lambda clean: clean) and queue._free == [1, 1]




def test_checks_that_waited_as_clean_wait_with_the_failing_once_their_client_fails():
    # a flood's first guesses all queue before the first of them has failed
    queue = CheckQueue(size=10, per_client=5)
    held = Held(queue)
    first, later, calls = threading.Event(), threading.Event(), itertools.count()

    def guess(clean):
        (first if next(calls) == 0 else later).wait(10)
        return False
    for _ in range(3):
        held.threads.append(held._start("flood", "admin", guess))
    _until(lambda: queue._waiting == 3)
    held.release.set()  # the holder ends: the flood's first guess takes the clean slot
    _until(lambda: queue._waiting == 2)
    held.add("alice")
    first.set()  # it fails: the flood's other guesses wait with the failing ones, alice has the clean slot
    _until(lambda: "alice" in held.order)
    later.set()
    assert held.finish() == ["alice"]


def _until(condition, timeout=5):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline
        time.sleep(0.001)


def test_admit_turns_away_at_once_what_run_would_refuse_and_queues_nothing():
    queue = CheckQueue(size=10, per_client=5, per_account=2)
    queue.admit("alice", "alice")  # a slot is free
    for lane in ("a", "b", "c"):
        fail(queue, lane)
    held = Held(queue, clean=False, failing=True)
    for lane in ("a", "b"):
        held.add(lane, account="admin")
    waiting = queue._waiting
    with pytest.raises(TooManyWaiting, match="this account"):
        queue.admit("c", "admin")
    queue.admit("owner", "admin")  # a clean address: it would wait for the clean slot
    assert queue._waiting == waiting
    held.finish()
