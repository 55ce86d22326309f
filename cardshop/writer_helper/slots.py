"""The slots file (/etc/cardshop/slots.yaml): slot number -> the card reader that serves it."""

import os
import re

import yaml

from cardshop.config.load import ConfigError, load_config, validate_config
from cardshop.config.writer import SLOTS_SCHEMA
from cardshop.writer_helper.files import write_atomically

MAX_SLOT = SLOTS_SCHEMA["properties"]["slots"]["items"]["properties"]["slot"]["maximum"]
# What a udev match value may hold: ID_PATH and device names use these; quotes or globs would change the rule.
SAFE_VALUE = re.compile(r"^[A-Za-z0-9/:._+-]+$")
HEADER = ("# Slot number -> card reader, written by cardshop-writer-helper identify.\n"
          "# Each writer@<slot> opens `device`; the udev rule next to it makes /dev/cardshop/slot-N.\n")


class SlotsError(Exception):
    """The slots file or a slot entry is wrong; the message says which."""


def slot_link(number):
    """The stable device link the udev rule gives slot `number` (the path writer@N binds and opens)."""
    return f"/dev/cardshop/slot-{number}"


def entry(number, identity, loop_direct=True):
    """A slots.yaml entry for slot `number` from a reader's identity (readers.Identity).

    A loop device is opened directly unless `loop_direct` is false: a writer run
    from a shell (the local stack) needs no link, writer@N under systemd does.
    """
    if not 1 <= number <= MAX_SLOT:
        raise SlotsError(f"slot {number}: slot numbers go from 1 to {MAX_SLOT}")
    for key, value in identity.match.items():
        if not SAFE_VALUE.match(value):
            raise SlotsError(f"slot {number}: {key} {value!r} holds characters a udev rule cannot match")
    device = identity.device if identity.is_loop and loop_direct else slot_link(number)
    item = {"slot": number, "match": dict(identity.match), "device": device}
    if identity.label:
        item["label"] = identity.label[:200]
    return item


def read(path):
    """The slots of `path` as a list (empty when the file does not exist); SlotsError when it is invalid."""
    if not os.path.exists(path):
        return []
    try:
        return load_config(SLOTS_SCHEMA, path)["slots"]
    except ConfigError as exc:
        raise SlotsError(f"{path}: {exc}") from None


def merge(slots, new):
    """`slots` with `new` in place of any entry of the same number or the same reader, sorted by number."""
    kept = [item for item in slots if item["slot"] != new["slot"] and item["match"] != new["match"]]
    return sorted(kept + [new], key=lambda item: item["slot"])


def without(slots, number, path="the slots file"):
    """`slots` (read from `path`) less slot `number`; SlotsError naming the known ones if it has no such slot."""
    kept = [item for item in slots if item["slot"] != number]
    if len(kept) == len(slots):
        known = ", ".join(str(item["slot"]) for item in slots) or "none"
        raise SlotsError(f"slot {number} is not in {path} (known slots: {known})")
    return kept


def write(path, slots):
    """Validate and write the slots file (readable by the writer@ units)."""
    document = {"slots": slots}
    try:
        validate_config(SLOTS_SCHEMA, document)
    except ConfigError as exc:
        raise SlotsError(f"refusing to write {path}: {exc}") from None
    write_atomically(path, HEADER + yaml.safe_dump(document, sort_keys=False), mode=0o644)
