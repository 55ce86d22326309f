"""Password checks: right and wrong, and a full pool refuses rather than queues."""

import threading

import pytest

from cardshop.auth.passwords import Busy, Hasher


def test_a_check_tells_right_from_wrong_and_unknown_users():
    hasher = Hasher(4)
    hashed = hasher.hash("correct horse")
    assert hasher.verify("correct horse", hashed) and not hasher.verify("wrong horse", hashed)
    assert not hasher.verify("anything", None)


def test_a_check_finding_every_slot_taken_is_refused_at_once():
    hasher = Hasher(4, slots=1)
    hasher._slots.acquire()  # a check in progress
    try:
        with pytest.raises(Busy):
            hasher.verify("correct horse", hasher.hash("correct horse"))
    finally:
        hasher._slots.release()


def test_a_check_may_wait_for_a_slot():
    hasher = Hasher(4, slots=1)
    hashed = hasher.hash("correct horse")
    hasher._slots.acquire()
    threading.Timer(0.05, hasher._slots.release).start()
    assert hasher.verify("correct horse", hashed, wait=10)
