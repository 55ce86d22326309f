"""One clock for stored times: the database server's.

Times that processes on different hosts write and compare (a task's last
report, a worker's last sighting, a schedule's last run) agree only if they
come from one clock. A process measures how far its host's clock is from the
database server's — `hello` answers `localTime` on MongoDB and FerretDB
alike, for any user — corrected for the round trip, and may `follow` it:
`now()` then answers the server's time whatever the host's clock says.
A process that follows nothing gets its host's clock, as before.
"""

import dataclasses
import datetime
import time

# A new reading this close to the followed one is measurement noise: keeping the old one keeps now()
# from stepping back and forth by milliseconds.
STEADY = 0.25  # seconds

_skew = 0.0  # seconds the host's clock runs ahead of the server's, as now() corrects it


class ClockUnknown(Exception):
    """The database server did not say what time it is."""


@dataclasses.dataclass(frozen=True)
class Reading:
    skew: float  # seconds this host's clock is ahead of the server's (negative: behind)
    round_trip: float  # seconds the measuring command took; the skew is right to within half of it


def utc(moment):
    """`moment` with its zone: a naive time (as BSON and some commands decode them) is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=datetime.timezone.utc)


def now():
    """Current UTC time, truncated to milliseconds as BSON stores it; the server's once followed."""
    moment = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=_skew)
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def measure(db, samples=3):
    """The skew of this host's clock against the database server's: the sample with the shortest round trip.

    The server read its clock somewhere during the round trip: taken as its middle.
    """
    best = None
    for _ in range(samples):
        sent, started = time.time(), time.monotonic()
        reply = db.command("hello")
        round_trip = time.monotonic() - started
        server = reply.get("localTime")
        if not isinstance(server, datetime.datetime):
            raise ClockUnknown(f"the database server's hello has no localTime (got {server!r})")
        server = utc(server)  # commands decode dates naive (UTC), whatever the client's tz_aware
        reading = Reading(skew=sent + round_trip / 2 - server.timestamp(), round_trip=round_trip)
        if best is None or reading.round_trip < best.round_trip:
            best = reading
    return best


def follow(reading):
    """Make now() answer the database server's time, as `reading` measured it; True when now() changed."""
    global _skew
    if abs(reading.skew - _skew) <= STEADY:
        return False
    _skew = reading.skew
    return True


def followed_skew():
    """The skew now() corrects, in seconds (0 until a process follows the server's clock)."""
    return _skew
