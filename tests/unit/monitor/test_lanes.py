"""The monitor's lanes: one task's reports in order, different tasks' side by side, a sender's waited for."""

import threading
import time

import pytest

from cardshop.monitor.lanes import Lanes
from devstack.processes import wait_until


@pytest.fixture
def lanes():
    made = []

    def make(count, work):
        made.append(Lanes(count, work))
        return made[-1]
    yield make
    for each in made:
        each.stop()


def finished_jobs(lanes, count, timeout=10):
    done = []
    wait_until(lambda: done.extend(lanes.finished()) or len(done) >= count, timeout=timeout, interval=0.01)
    return done


def test_one_keys_jobs_are_applied_in_the_order_they_came_while_other_keys_run_beside_them(lanes):
    applied, lock = [], threading.Lock()

    def work(job):
        key, number = job
        time.sleep(0.001 * (number % 3))  # uneven work, so that an unordered lane would show
        with lock:
            applied.append(job)
        return "applied"

    under_test = lanes(4, work)
    jobs = [(f"task-{n % 7}", n) for n in range(300)]
    for job in jobs:
        under_test.submit(job[0], "sender", job)
    done = finished_jobs(under_test, len(jobs))
    assert sorted(done) == sorted((job, "applied") for job in jobs)
    for key in {key for key, _ in jobs}:
        assert [n for k, n in applied if k == key] == [n for k, n in jobs if k == key]


def test_a_slow_task_holds_up_only_its_own_lane(lanes):
    release = threading.Event()

    def work(job):
        if job == "slow":
            release.wait(10)
        return job

    under_test = lanes(2, work)
    slow_key = "a"
    other_key = next(key for key in map(str, range(100)) if hash(key) % 2 != hash(slow_key) % 2)
    under_test.submit(slow_key, "one", "slow")
    under_test.submit(other_key, "two", "fast")
    assert finished_jobs(under_test, 1) == [("fast", "fast")]
    assert under_test.wait_for("two", timeout=1)
    assert not under_test.wait_for("one", timeout=0.2), "its job is still being applied"
    assert under_test.pending() == 1
    release.set()
    assert under_test.wait_for("one", timeout=10)
    assert under_test.finished() == [("slow", "slow")]


def test_a_job_that_raises_is_finished_with_no_outcome_and_the_lane_goes_on(lanes):
    def work(job):
        if job == "bug":
            raise RuntimeError("a bug")
        return job

    under_test = lanes(1, work)
    under_test.submit("t", "s", "bug")
    under_test.submit("t", "s", "next")
    assert finished_jobs(under_test, 2) == [("bug", None), ("next", "next")]
    assert under_test.wait_for(timeout=1)
