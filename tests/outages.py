"""How long the fault tests keep a server away, in seconds: one place, set per run from outside.

Each length is the default its test states, never below the minimum that test's point needs (e.g. the
monitor frozen longer than the 25 s after which the old code failed an order). CARDSHOP_TEST_OUTAGES
overrides some for a run, e.g. `CARDSHOP_TEST_OUTAGES=scheduler=120,broker=45 make test-faults`.
"""

import os

ENV = "CARDSHOP_TEST_OUTAGES"


def _overrides():
    pairs = [item.split("=", 1) for item in os.environ.get(ENV, "").split(",") if item.strip()]
    if any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"{ENV} must look like name=seconds,name=seconds")
    return {name.strip(): float(seconds) for name, seconds in pairs}


def length(name, default, minimum):
    """The outage `name` lasts this many seconds in this run."""
    seconds = _overrides().get(name, default)
    if seconds < minimum:
        raise ValueError(f"{ENV}: {name}={seconds:g} is below that test's minimum of {minimum:g} s")
    return seconds
