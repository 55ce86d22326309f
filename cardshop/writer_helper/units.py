"""The writer@N.service instances: `systemctl enable --now` when systemd runs, else the links it would make.

writer@.service is WantedBy=cardshop.target, so enabling writer@N links it
into cardshop.target.wants; cardshop.target itself is WantedBy=multi-user.target.
"""

import glob
import os
import re
import subprocess

DEFAULT_WANTS_DIR = "/etc/systemd/system/cardshop.target.wants"
DEFAULT_UNIT_FILE = "/usr/lib/systemd/system/writer@.service"
TARGET = "cardshop.target"
INSTANCE = re.compile(r"^writer@([1-9][0-9]*)\.service$")
# The active states of a unit whose slot process may run (and so write a card).
RUNNING = ("active", "activating", "reloading", "deactivating")


class UnitError(Exception):
    """A unit link or a systemctl call failed."""


def booted():
    """True when systemd runs as PID 1 (sd_booted's test)."""
    return os.path.isdir("/run/systemd/system")


def instance(number):
    return f"writer@{number}.service"


def linked(wants_dir):
    """Slot number -> link path, for every writer@N.service link in `wants_dir`."""
    found = {}
    for path in glob.glob(os.path.join(glob.escape(wants_dir), "writer@*.service")):
        match = INSTANCE.match(os.path.basename(path))
        if match and os.path.islink(path):
            found[int(match.group(1))] = path
    return found


def _systemctl(*args, check=True):
    done = _run_systemctl(*args)
    if check and done.returncode != 0:
        raise UnitError(f"systemctl {' '.join(args)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.stdout.strip()


def _run_systemctl(*args):
    try:
        return subprocess.run(["systemctl", *args], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UnitError(f"systemctl {' '.join(args)}: {exc}") from None


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise UnitError(f"cannot remove {path}: {exc.strerror}") from None


def enable(numbers, wants_dir, unit_file, use_systemctl):
    """Enable writer@N for each slot number (and start it under systemd), disable those of other slots.

    Returns (enabled, removed) slot numbers. Under systemd, systemctl makes the
    links, and enables cardshop.target too so that the slots start at boot.
    """
    current = linked(wants_dir)
    removed = sorted(set(current) - set(numbers))
    for number in removed:
        _drop(number, current[number], use_systemctl)
    if use_systemctl:
        _systemctl("daemon-reload")
        _systemctl("enable", TARGET)
        names = [instance(number) for number in sorted(numbers)]
        _systemctl("enable", *names)
        # Not waited for: READY comes once a slot reaches the broker, which may be away.
        _systemctl("start", "--no-block", *names)
        return sorted(numbers), removed
    try:
        os.makedirs(wants_dir, exist_ok=True)
        for number in sorted(numbers):
            path = os.path.join(wants_dir, instance(number))
            if os.path.islink(path) and os.readlink(path) == unit_file:
                continue
            _unlink(path)
            os.symlink(unit_file, path)  # what `systemctl enable writer@N` makes
    except OSError as exc:
        raise UnitError(f"cannot link {instance(number)} in {wants_dir}: {exc.strerror}") from None
    return sorted(numbers), removed


def restart_running(numbers):
    """Restart those of writer@N that run (not waited for), so that they bind their device anew."""
    _systemctl("try-restart", "--no-block", *(instance(number) for number in sorted(numbers)))


def disable(wants_dir, use_systemctl):
    """Unlink (and stop) every writer@N; returns the slot numbers that were linked."""
    current = linked(wants_dir)
    for number, path in sorted(current.items()):
        _drop(number, path, use_systemctl)
    return sorted(current)


def forget(number, wants_dir, use_systemctl):
    """Disable and stop writer@N (under systemd even when not linked here); True when it was linked."""
    path = linked(wants_dir).get(number)
    _drop(number, path, use_systemctl)
    return path is not None


def _drop(number, path, use_systemctl):
    """writer@N disabled and stopped under systemd, and its link `path` (if any) gone."""
    if use_systemctl:
        _systemctl("disable", "--now", instance(number))
    if path:
        _unlink(path)


def active_state(number):
    """writer@N's active state as systemd tells it (active, inactive, failed, activating...)."""
    return _systemctl("is-active", instance(number), check=False) or "unknown"


def status_text(number):
    """writer@N's STATUS line: for people to read, never to parse (the slot's state file is for machines)."""
    return _systemctl("show", "--property=StatusText", "--value", instance(number), check=False)


def is_enabled(number):
    return _run_systemctl("is-enabled", "--quiet", instance(number)).returncode == 0


def stop(number):
    _systemctl("stop", instance(number))


def restart(number):
    _systemctl("restart", instance(number))
