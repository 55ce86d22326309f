"""Loop devices as card readers: attaching a backing file inserts a card, detaching removes it.

Both raise real kernel uevents (a `change` event; removal carries
DISK_MEDIA_CHANGE=1), which the writer's pyudev monitor sees. The machine
has few loop devices (often /dev/loop0-7), so readers come from a pool named
by CARDSHOP_LOOP_DEVICES (e.g. "/dev/loop0,/dev/loop1"; default: every
/dev/loopN present). A reader without a card looks free to `losetup -f`:
parallel suites each get their own pool.
"""

import glob
import os
import re
import subprocess
import uuid

ENV = "CARDSHOP_LOOP_DEVICES"


class CardError(Exception):
    """A reader or card operation on a loop device failed."""


def reader_pool():
    """The loop devices this process may use as readers, from CARDSHOP_LOOP_DEVICES or all present."""
    named = os.environ.get(ENV, "").strip()
    if named:
        return [path.strip() for path in named.split(",") if path.strip()]
    return sorted(glob.glob("/dev/loop[0-9]*"), key=lambda path: int(re.sub(r"\D", "", path)))


def has_card(device):
    """True when a backing file is attached (a card is in the reader)."""
    name = os.path.basename(device)
    try:
        with open(f"/sys/block/{name}/loop/backing_file") as handle:
            return bool(handle.read().strip())
    except FileNotFoundError:
        return False


def take_readers(count):
    """`count` readers from the pool that hold no card now; CardError when there are not enough."""
    free = [device for device in reader_pool() if os.path.exists(device) and not has_card(device)]
    if len(free) < count:
        raise CardError(f"need {count} free loop devices as card readers, have {len(free)} "
                        f"(pool: {', '.join(reader_pool()) or 'none'}; set {ENV})")
    return free[:count]


def _run(*command):
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise CardError(f"{' '.join(command)}: {done.stderr.strip() or f'exit {done.returncode}'}")
    return done.stdout


def insert(device, folder, size, name=None):
    """Put a fresh blank card of `size` bytes into the reader `device`; return its backing file."""
    if has_card(device):
        raise CardError(f"{device} already holds a card; remove it first")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name or f"card-{uuid.uuid4().hex[:8]}.img")
    with open(path, "wb") as handle:
        handle.truncate(size)  # sparse: blank cards cost no disk
    _run("losetup", device, path)
    return path


def remove(device):
    """Take the card out of the reader `device` (nothing happens when it is empty)."""
    if has_card(device):
        _run("losetup", "-d", device)


def backing_file(device):
    """The file behind the card in `device`, or None when the reader is empty."""
    name = os.path.basename(device)
    try:
        with open(f"/sys/block/{name}/loop/backing_file") as handle:
            return handle.read().strip() or None
    except FileNotFoundError:
        return None
