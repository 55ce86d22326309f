"""The udev rule that gives each slot's reader a stable /dev/cardshop/slot-N link, group cardshop-writer.

Real readers are matched by ID_PATH (the USB or PCI port, the same across
reboots and whatever card is in); loop devices, the development readers,
by their kernel name. The file sorts after 60-persistent-storage.rules,
which sets ID_PATH.
"""

from cardshop.writer_helper.files import WRITER_GROUP, write_atomically
from cardshop.writer_helper.slots import slot_link

DEFAULT_PATH = "/etc/udev/rules.d/61-cardshop-slots.rules"
GROUP = WRITER_GROUP


def _condition(key, value):
    if key == "DEVNAME":
        return f'KERNEL=="{value.removeprefix("/dev/")}"'
    return f'ENV{{{key}}}=="{value}"'


def render(slots, group=GROUP):
    """The rule file's text for `slots` (entries of the slots file)."""
    lines = ["# Written by cardshop-writer-helper identify from slots.yaml: edit that, not this file.",
             "# /dev/cardshop/slot-N is the card reader of slot N; the writer@N unit opens it."]
    for item in sorted(slots, key=lambda item: item["slot"]):
        conditions = ['SUBSYSTEM=="block"', 'ENV{DEVTYPE}=="disk"']
        conditions += [_condition(key, value) for key, value in sorted(item["match"].items())]
        link = slot_link(item["slot"]).removeprefix("/dev/")
        lines.append(", ".join(conditions + [f'SYMLINK+="{link}"', f'GROUP="{group}"', 'MODE="0660"']))
    return "\n".join(lines) + "\n"


def write(path, slots, group=GROUP):
    write_atomically(path, render(slots, group), mode=0o644)
