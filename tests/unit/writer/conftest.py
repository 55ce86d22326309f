"""Images and cards for the writer's tests: a sparse image with its outputs, and loop devices as readers."""

import os

import pytest

from cardshop.image.outputs import make_outputs
from cardshop.writer.card import Card
from cardshop.writer.slot import Slot
from devstack import cards

MiB = 1024 * 1024


def make_image(folder, name="img", size=64 * MiB, mapped=((0, 1 * MiB), (20 * MiB, 3 * MiB), (63 * MiB, MiB))):
    """A sparse raw image with random data in `mapped` (offset, length) ranges, and its warehouse files."""
    os.makedirs(folder, exist_ok=True)
    raw = os.path.join(folder, f"{name}.img")
    with open(raw, "wb") as handle:
        handle.truncate(size)
        for offset, length in mapped:
            handle.seek(offset)
            handle.write(os.urandom(length))
    outputs = os.path.join(folder, "out")
    os.makedirs(outputs, exist_ok=True)
    made = make_outputs(raw, outputs, name)
    return {"raw": raw, "folder": outputs, **made,
            "paths": {key: os.path.join(outputs, value) for key, value in made["files"].items()}}


@pytest.fixture
def readers():
    """The loop devices this run may use (CARDSHOP_LOOP_DEVICES); every card is taken out afterwards."""
    taken = []

    def take(count=1):
        found = cards.take_readers(count)
        taken.extend(found)
        return found

    yield take
    for device in taken:
        cards.remove(device)


def slot_in(state, message=""):
    """Slot 3 brought into `state` through the table's own moves (no reader needed: nothing looks at it)."""
    slot = Slot(3, "/dev/null")
    path = {"no_reader": [], "empty": ["empty"], "checking": ["checking"], "ready": ["checking", "ready"],
            "refused": ["checking", "refused"], "busy": ["checking", "ready", "busy"],
            "done": ["checking", "ready", "busy", "done"], "failed": ["checking", "ready", "busy", "failed"]}
    for step in path[state]:
        if step == "ready":
            slot.card = Card("/dev/null", 2_000_000_000, "SERIAL1", "1")  # what the check found
        slot.move(step, message if step == state else "")
    return slot
