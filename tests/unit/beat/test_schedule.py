"""A schedule's last run recorded in the future is taken as now, and said."""

import datetime
import logging

from cardshop.beat.schedule import clamped

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)


def test_a_last_run_in_the_future_is_taken_as_now_and_logged_with_the_schedule_and_how_far(caplog):
    with caplog.at_level(logging.WARNING, logger="cardshop.beat.schedule"):
        assert clamped("time-out-tasks", NOW + datetime.timedelta(minutes=20), NOW) == NOW
    assert "schedule time-out-tasks: its last run is recorded 1200 s in the future" in caplog.text


def test_a_last_run_in_the_past_is_kept_and_nothing_said(caplog):
    earlier = NOW - datetime.timedelta(seconds=61)
    with caplog.at_level(logging.WARNING, logger="cardshop.beat.schedule"):
        assert clamped("purge-tokens", earlier, NOW) is earlier
        assert clamped("purge-tokens", NOW, NOW) is NOW
    assert caplog.text == ""


def test_a_schedule_that_never_ran_stays_so():
    assert clamped("reconcile", None, NOW) is None


def test_a_last_run_less_than_a_second_ahead_is_the_clocks_own_correction_and_is_kept():
    ahead = NOW + datetime.timedelta(milliseconds=400)
    assert clamped("reconcile", ahead, NOW) is ahead


def test_a_date_stored_without_a_time_zone_counts_as_utc():
    naive = (NOW + datetime.timedelta(hours=1)).replace(tzinfo=None)
    assert clamped("reconcile", naive, NOW) == NOW
    assert clamped("reconcile", NOW.replace(tzinfo=None), NOW) == NOW.replace(tzinfo=None)
