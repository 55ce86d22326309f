"""The /dev/cardshop/slot-N links, made by the helper where no udevd applies the slots' rule.

In a container (systemd-nspawn has no udevd) nothing runs the udev rule, so
the helper does what the rule would: link each slot to its reader's node and
give that node group cardshop-writer, mode 0660. Only readers matched by device
name (loop devices, the development readers) can be found so: an ID_PATH is
known only to udev.
"""

import grp
import os

from cardshop.writer_helper.files import WRITER_GROUP
from cardshop.writer_helper.slots import slot_link


class LinksError(Exception):
    """A slot's link could not be made; the message says which and why."""


def _node(item):
    name = item["match"].get("DEVNAME")
    if not name:
        keys = ", ".join(sorted(item["match"]))
        raise LinksError(f"slot {item['slot']}: its reader is matched by {keys}, which only udev knows; "
                         "start systemd-udevd to make /dev/cardshop/slot-N")
    if not os.path.exists(name):
        raise LinksError(f"slot {item['slot']}: no device {name}")
    return name


def _gid(group):
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise LinksError(f"no group {group} on this host (the package cardshop-writer makes it)") from None


def in_dev(path, dev_dir="/dev"):
    """`path` (under /dev) in `dev_dir`, another folder standing for /dev (tests)."""
    return os.path.join(dev_dir, os.path.relpath(path, "/dev"))


def make(slots, dev_dir="/dev", group=WRITER_GROUP):
    """Link every slot of `slots` to its reader, node group `group` mode 0660; the other slot-N links go.

    Returns [(slot number, link, node, made)], `made` false for a link that was there already.
    """
    gid = _gid(group)
    folder = os.path.dirname(in_dev(slot_link(1), dev_dir))
    made = []
    try:
        os.makedirs(folder, mode=0o755, exist_ok=True)
        wanted = {os.path.basename(slot_link(item["slot"])) for item in slots}
        for name in os.listdir(folder):
            if name.startswith("slot-") and name not in wanted and os.path.islink(os.path.join(folder, name)):
                os.unlink(os.path.join(folder, name))
        for item in sorted(slots, key=lambda item: item["slot"]):
            node = _node(item)
            link = in_dev(slot_link(item["slot"]), dev_dir)
            target = os.path.relpath(node, folder)  # as udev links: ../loop2
            fresh = not (os.path.islink(link) and os.readlink(link) == target)
            if fresh:
                temporary = f"{link}.tmp-{os.getpid()}"
                os.symlink(target, temporary)
                os.replace(temporary, link)
            os.chown(node, -1, gid)
            os.chmod(node, 0o660)
            made.append((item["slot"], link, node, fresh))
    except OSError as exc:
        raise LinksError(f"cannot link the slots in {folder}: {exc.strerror} ({exc.filename})") from None
    return made
