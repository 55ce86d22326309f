"""A queue short for a moment (a claim in flight) is not a lost message; one short for `settle` seconds is."""

from cardshop.beat.jobs import ShortQueues


def test_a_queue_short_at_one_look_only_is_left_alone():
    watch = ShortQueues()
    assert watch.lasting({"write.a": {"t1", "t2"}}, settle=30, at=0) == {}
    # The claims were applied: the queue is no longer short, and is forgotten.
    assert watch.lasting({}, settle=30, at=60) == {}
    assert watch.lasting({"write.a": {"t1", "t2"}}, settle=30, at=120) == {}


def test_a_queue_short_for_settle_seconds_gives_the_tasks_queued_all_along():
    watch = ShortQueues()
    assert watch.lasting({"create": {"t1", "t2"}}, settle=30, at=0) == {}
    assert watch.lasting({"create": {"t1", "t2", "t3"}}, settle=30, at=20) == {}
    assert watch.lasting({"create": {"t2", "t3"}}, settle=30, at=30) == {"create": {"t2"}}
    # Reported once: the next look starts again.
    assert watch.lasting({"create": {"t3"}}, settle=30, at=40) == {}


def test_a_queue_whose_tasks_all_changed_counts_from_the_new_look():
    watch = ShortQueues()
    watch.lasting({"create": {"t1"}}, settle=30, at=0)
    assert watch.lasting({"create": {"t9"}}, settle=30, at=40) == {}
    assert watch.lasting({"create": {"t9"}}, settle=30, at=70) == {"create": {"t9"}}


def test_queues_are_watched_apart():
    watch = ShortQueues()
    watch.lasting({"write.a": {"t1"}, "write.b": {"t2"}}, settle=10, at=0)
    assert watch.lasting({"write.b": {"t2"}}, settle=10, at=10) == {"write.b": {"t2"}}
    assert watch.lasting({"write.a": {"t1"}}, settle=10, at=20) == {}
