"""Partition tables, read and written with sfdisk.

A data partition goes after the base image's partitions (or alone, without
a base), aligned to 4 MiB and filling the rest of the image.
"""

import json
import subprocess
import tempfile

from cardshop.cancellable import run
from cardshop.recipes import card_capacity

SECTOR = 512
ALIGN = 4 * 1024 * 1024
STANDARD_CARDS_GB = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)
GPT_BACKUP_SECTORS = 33


class LayoutError(Exception):
    pass


def align_up(value, alignment=ALIGN):
    return -(-value // alignment) * alignment


def read_table(path):
    """sfdisk's JSON view of a partition table, or None when there is none."""
    result = subprocess.run(["sfdisk", "--json", path], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    table = json.loads(result.stdout)["partitiontable"]
    table.setdefault("partitions", [])
    return table


def base_table(path, source=None):
    """The base image's partition table; refused, naming the base, when it has no partition to keep."""
    table = read_table(path)
    if table is None or not table["partitions"]:
        raise LayoutError(f"base image {source or path} has no partition table")
    return table


def used_end(table):
    """Bytes from the start of the disk to the end of its last partition."""
    sector = table.get("sectorsize", SECTOR)
    return max((part["start"] + part["size"]) * sector for part in table["partitions"])


def add_data_partition(image, base_table, cancel=None):
    """Write the data partition's entry; returns (offset, size) in bytes."""
    if base_table is None:
        script = f"label: dos\nstart={ALIGN // SECTOR}, type=83\n"
        run(["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", image], cancel,
            stdin=_script(script))
    else:
        if base_table["label"] == "dos" and len(base_table["partitions"]) >= 4:
            raise LayoutError("the base image has 4 primary partitions; no room for the data partition")
        if base_table["label"] == "gpt":
            run(["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", "--relocate", "gpt-bak-std", image], cancel)
        start = align_up(used_end(base_table)) // SECTOR
        kind = "83" if base_table["label"] == "dos" else "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
        run(["sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", "--append", image], cancel,
            stdin=_script(f"start={start}, type={kind}\n"))
    table = read_table(image)
    last = max(table["partitions"], key=lambda part: part["start"])
    sector = table.get("sectorsize", SECTOR)
    return last["start"] * sector, last["size"] * sector


def _script(text):
    """A pipe-readable file holding `text` (sfdisk reads its script from stdin)."""
    handle = tempfile.TemporaryFile()
    handle.write(text.encode())
    handle.seek(0)
    return handle


def auto_size(base_end, data_bytes, file_count):
    """The smallest standard card's usable size that holds base + data with ext4's overhead."""
    overhead = 64 * 1024 * 1024 + data_bytes // 20 + file_count * 8192
    needed = align_up(base_end or 0) + (ALIGN if not base_end else 0) + data_bytes + overhead
    for card in STANDARD_CARDS_GB:
        capacity = card_capacity(card) // ALIGN * ALIGN
        if capacity >= needed:
            return card, capacity
    raise LayoutError(f"{needed} bytes do not fit the largest standard card")
