"""now() answers the database server's time once a process follows its clock, without stepping on noise."""

import datetime

import pytest

from cardshop.store import clock


@pytest.fixture
def following():
    yield clock.follow
    clock.follow(clock.Reading(skew=0.0, round_trip=0.0))
    assert clock.followed_skew() == 0.0


def seconds_behind_the_host(moment):
    return (datetime.datetime.now(datetime.timezone.utc) - moment).total_seconds()


def test_a_process_that_follows_nothing_has_its_hosts_clock():
    assert clock.followed_skew() == 0.0
    assert abs(seconds_behind_the_host(clock.now())) < 0.1


def test_now_answers_the_servers_time_once_followed(following):
    assert following(clock.Reading(skew=1200.0, round_trip=0.002))
    assert abs(seconds_behind_the_host(clock.now()) - 1200) < 0.1
    assert clock.now().microsecond % 1000 == 0, "milliseconds, as BSON stores them"


def test_a_new_reading_within_the_measurements_noise_keeps_the_clock_followed(following):
    following(clock.Reading(skew=-45.0, round_trip=0.002))
    assert not following(clock.Reading(skew=-45.2, round_trip=0.002))
    assert clock.followed_skew() == -45.0
    assert following(clock.Reading(skew=-44.0, round_trip=0.002))
    assert clock.followed_skew() == -44.0
