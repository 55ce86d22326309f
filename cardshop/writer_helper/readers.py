"""Card readers as the kernel and udev see them: identity, card present and size, card insertions.

This is the helper's one edge onto udev (pyudev). A reader's identity is
its ID_PATH (the port it sits on); loop devices, the readers of development
and tests, have none and are known by their device name.
"""

import dataclasses
import os
import select
import subprocess
import time

import pyudev


class ReaderError(Exception):
    """A device is not a usable card reader, or no card came."""


@dataclasses.dataclass
class Identity:
    device: str            # /dev/sdb, /dev/loop3
    name: str              # kernel name: sdb, loop3
    match: dict            # udev properties that single the reader out
    label: str             # vendor and model, for the operator
    is_loop: bool


def card_size(name):
    """Bytes of the card in reader `name` (0 when it is empty or the reader is gone)."""
    try:
        with open(f"/sys/class/block/{name}/size") as handle:
            return int(handle.read().strip()) * 512
    except (OSError, ValueError):
        return 0


def _is_loop(device):
    return device.sys_name.startswith("loop")


def _removable(device):
    return device.attributes.get("removable") == b"1" or device.sys_name.startswith("mmcblk")


def _identity(device):
    properties = device.properties
    label = " ".join(part for part in (properties.get("ID_VENDOR"), properties.get("ID_MODEL")) if part)
    if _is_loop(device):
        return Identity(device.device_node, device.sys_name, {"DEVNAME": device.device_node},
                        label or "loop device", True)
    if not properties.get("ID_PATH"):
        raise ReaderError(f"{device.device_node} has no ID_PATH in the udev database "
                          "(is systemd-udevd running?); it cannot be told apart from other readers")
    return Identity(device.device_node, device.sys_name, {"ID_PATH": properties["ID_PATH"]},
                    label or "card reader", False)


def _settled_identity(event):
    """The identity of the device of a kernel event, once udev has filed it (a new disk's ID_PATH comes later)."""
    device = pyudev.Devices.from_sys_path(pyudev.Context(), event.sys_path)
    if not _is_loop(device) and not device.properties.get("ID_PATH"):
        try:
            subprocess.run(["udevadm", "settle", "--timeout=10"], capture_output=True, timeout=15)
        except (OSError, subprocess.TimeoutExpired):
            pass
        device = pyudev.Devices.from_sys_path(pyudev.Context(), event.sys_path)
    return _identity(device)


def identify(path):
    """The Identity of the block device at `path` (a whole disk, not a partition)."""
    if not os.path.exists(path):
        raise ReaderError(f"no device {path}")
    try:
        device = pyudev.Devices.from_device_file(pyudev.Context(), path)
    except (pyudev.DeviceNotFoundError, OSError, ValueError) as exc:
        raise ReaderError(f"{path} is not a block device: {exc}") from None
    if device.subsystem != "block" or device.device_type != "disk":
        raise ReaderError(f"{path} is not a whole disk (a {device.device_type or device.subsystem}); "
                          "name the reader's disk, e.g. /dev/sdb")
    return _identity(device)


def scan(with_loop=False):
    """Removable disks (and loop devices when asked), each as a dict for the scan table."""
    rows = []
    for device in pyudev.Context().list_devices(subsystem="block", DEVTYPE="disk"):
        if not (_removable(device) or (with_loop and _is_loop(device))):
            continue
        properties = device.properties
        size = card_size(device.sys_name)
        rows.append({"device": device.device_node,
                     "id_path": properties.get("ID_PATH") or ("-" if not _is_loop(device) else "(loop)"),
                     "vendor": properties.get("ID_VENDOR", "-"), "model": properties.get("ID_MODEL", "-"),
                     "card": "yes" if size else "no", "size": size})
    return sorted(rows, key=lambda row: (len(row["device"]), row["device"]))


class CardWatch:
    """Waits for a card to go into a reader, as udev reports it (kernel events: they come with or without udevd)."""

    def __init__(self, only=(), with_loop=False):
        self.only = {os.path.basename(os.path.realpath(path)) for path in only}
        self.with_loop = with_loop
        self.monitor = pyudev.Monitor.from_netlink(pyudev.Context(), source="kernel")
        self.monitor.filter_by("block", "disk")
        self.monitor.start()  # before any prompt: a card inserted right after it is not missed
        # Readers holding a card now; from here on, events keep this up to date (no race with the prompts).
        disks = pyudev.Context().list_devices(subsystem="block", DEVTYPE="disk")
        self.holding = {device.sys_name for device in disks if self._eligible(device) and card_size(device.sys_name)}

    def _eligible(self, device):
        if self.only:
            return device.sys_name in self.only
        return _removable(device) or (self.with_loop and _is_loop(device))

    def wait(self, stop_fd=None, timeout=None):
        """The Identity of the next reader that receives a card; None when `stop_fd` is readable or at EOF.

        A reader already holding a card counts only once that card is out.
        ReaderError when `timeout` seconds pass without a card.
        """
        watched = [self.monitor] + ([stop_fd] if stop_fd is not None else [])
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select(watched, [], [], left)
            if not ready:
                raise ReaderError(f"no card was inserted within {timeout:g} s")
            if stop_fd is not None and stop_fd in ready:
                os.read(stop_fd, 4096)  # a line (or EOF) means: no more slots
                return None
            device = self.monitor.poll(timeout=0)
            if device is None or not self._eligible(device):
                continue
            if device.action == "remove" or not card_size(device.sys_name):
                self.holding.discard(device.sys_name)
            elif device.action in ("add", "change") and device.sys_name not in self.holding:
                self.holding.add(device.sys_name)
                return _settled_identity(device)
