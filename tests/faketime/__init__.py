"""Programs on a wrong wall clock, through libfaketime (Debian package faketime).

Only the wall clock is faked: a faked monotonic clock hangs Python's timed
waits (libfaketime issue 390), so FAKETIME_DONT_FAKE_MONOTONIC is set, and
the sitecustomize next to this file works around what that breaks.
"""

import glob
import os

HERE = os.path.dirname(os.path.abspath(__file__))


def faked(offset, env=None):
    """`env` (default: this process's) for a program whose wall clock is `offset` off ("+20m", "-90")."""
    found = glob.glob("/usr/lib/*/faketime/libfaketime.so.1")
    assert found, "libfaketime is missing: run `make deps` (Debian package faketime)"
    env = dict(os.environ if env is None else env)
    path = env.get("PYTHONPATH")
    env.update(LD_PRELOAD=found[0], FAKETIME=offset, FAKETIME_DONT_FAKE_MONOTONIC="1",
               PYTHONPATH=HERE + (os.pathsep + path if path else ""))
    return env
