"""Is anything still using the database? The daemons (asked of systemd) and FerretDB 1.24 (its open files).

The scheduler, the monitor and the beat write to the database all the time:
a copy taken while they run would miss their last writes, so they must be
stopped. FerretDB 1.24 itself must be stopped too (its package upgraded), or
its files change under the reader.
"""

import logging
import os
import subprocess

log = logging.getLogger(__name__)

UNITS = ("cardshop-scheduler.service", "cardshop-monitor.service", "cardshop-beat.service")
RUNNING_STATES = frozenset({"active", "activating", "deactivating", "reloading", "refreshing"})


class ServicesRunning(Exception):
    """A daemon or the old FerretDB still uses the database; the message says which and how to stop it."""


def active_units(units=UNITS):
    """The units systemd reports running, or None when systemd cannot be asked (no systemctl, no systemd)."""
    try:
        done = subprocess.run(["systemctl", "is-active", *units], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    states = done.stdout.split()
    if len(states) != len(units):  # no systemd to ask (a container, a chroot): it printed an error instead
        return None
    return [unit for unit, state in zip(units, states) if state in RUNNING_STATES]


def holders(paths, proc="/proc"):
    """(pid, command) of each process with one of `paths` open, among those this user may look at."""
    wanted = {os.path.realpath(path) for path in paths}
    found = []
    for pid in os.listdir(proc):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            for fd in os.listdir(os.path.join(proc, pid, "fd")):
                if os.readlink(os.path.join(proc, pid, "fd", fd)) in wanted:
                    with open(os.path.join(proc, pid, "comm"), encoding="utf-8", errors="replace") as handle:
                        found.append((int(pid), handle.read().strip()))
                    break
        except OSError:  # gone meanwhile, or not ours to look at
            continue
    return found


def check(files, units=UNITS):
    """Raise ServicesRunning when a daemon runs or a process holds one of `files` open."""
    problems = []
    running = active_units(units)
    if running is None:
        log.info("systemd cannot be asked whether %s run: not checked", ", ".join(units))
    elif running:
        problems.append(f"{', '.join(running)} running (systemctl stop {' '.join(running)})")
    for pid, command in holders(files):
        problems.append(f"process {pid} ({command}) has {' or '.join(files)} open (the old FerretDB? stop it)")
    if problems:
        raise ServicesRunning("the database is in use: " + "; ".join(problems) +
                              "; stop these first (or give --force when sure nothing writes)")
