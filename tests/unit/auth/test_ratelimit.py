"""The per-address token bucket in front of password checks."""

import time

import pytest

from cardshop.auth.ratelimit import RateLimit, RateLimited


def test_an_address_gets_its_burst_then_is_told_when_to_come_back():
    limit = RateLimit(rate=0.5, burst=3)
    for _ in range(3):
        limit.take("192.0.2.1")
    with pytest.raises(RateLimited) as refused:
        limit.take("192.0.2.1")
    assert refused.value.retry_after == 2


def test_addresses_have_buckets_of_their_own():
    limit = RateLimit(rate=0.5, burst=1)
    limit.take("192.0.2.1")
    limit.take("192.0.2.2")


def test_the_bucket_refills_at_the_rate():
    limit = RateLimit(rate=50, burst=1)
    limit.take("192.0.2.1")
    deadline = time.monotonic() + 5
    while True:
        try:
            limit.take("192.0.2.1")
            break
        except RateLimited:
            assert time.monotonic() < deadline
            time.sleep(0.005)
