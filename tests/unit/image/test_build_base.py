"""Decompressing a base: cut at what the card holds and at the build disk's room, its decompressor killed."""

import os
import subprocess
import time

import pytest

from cardshop import faults
from cardshop.cancellable import CancelToken, Canceled, CommandError
from cardshop.image.build import BLOCK, BuildError, decompress_base
from devstack import samples

MiB = 1024 * 1024
GiB = 1024 * MiB
ONES = b"\xff"  # bytes a sparse file cannot skip


def real_bytes(path):
    return os.stat(path).st_blocks * 512 if os.path.exists(path) else 0


def decompressors_left():
    """Our children still running a decompressor."""
    found = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as handle:
                name, fields = handle.read().split("(", 1)[1].rsplit(")", 1)
        except OSError:
            continue
        if int(fields.split()[2]) == os.getpid() and name in ("xz", "gzip", "zstd"):
            found.append(name)
    return found


@pytest.mark.parametrize("suffix", [".xz", ".gz", ".zst"])
def test_a_base_that_decompresses_beyond_the_card_is_cut_at_the_card_and_its_decompressor_killed(tmp_path, suffix):
    bomb = samples.make_compression_bomb(str(tmp_path), f"base.img{suffix}", 4 * GiB, ONES)
    target = str(tmp_path / "base.raw")
    started = time.monotonic()
    with pytest.raises(BuildError) as caught:
        decompress_base(bomb, target, 16 * MiB, "a 4 GB card", room=GiB)
    assert time.monotonic() - started < 3, "stopped at the cut, not after 4 GiB"
    assert str(caught.value) == ("the base image decompresses to more than a 4 GB card holds (16777216 bytes): "
                                 "stopped at 16777216 bytes")
    assert not faults.is_transient(caught.value), "a bigger disk would not make it fit the card"
    assert real_bytes(target) <= 16 * MiB
    assert decompressors_left() == []


def test_a_base_that_fits_is_decompressed_whole_and_sparse(tmp_path):
    raw = tmp_path / "small.img"
    with open(raw, "wb") as handle:
        handle.write(b"boot" * MiB)
        handle.truncate(32 * MiB)  # the rest is zeros
    compressed = str(raw) + ".zst"
    subprocess.run(["zstd", "-q", str(raw), "-o", compressed], check=True)
    target = str(tmp_path / "base.raw")
    assert decompress_base(compressed, target, 32 * MiB, "output.size", room=8 * MiB) == target
    assert os.path.getsize(target) == 32 * MiB
    assert samples.sha256_of(target) == samples.sha256_of(raw)
    assert real_bytes(target) <= 4 * MiB + BLOCK, "zero blocks are holes"


def test_a_base_beyond_the_build_disks_room_is_cut_there_and_is_transient(tmp_path):
    bomb = samples.make_compression_bomb(str(tmp_path), "base.img.gz", 64 * MiB, ONES)
    target = str(tmp_path / "base.raw")
    with pytest.raises(BuildError) as caught:
        decompress_base(bomb, target, GiB, "a 4 GB card", room=8 * MiB)
    assert str(caught.value) == ("the build disk has no room for the decompressed base: 8388608 bytes free beyond "
                                 "the margin, stopped at 8388608 bytes")
    assert faults.is_transient(caught.value), "room comes back as other builds end"
    assert real_bytes(target) <= 8 * MiB
    assert decompressors_left() == []


def test_zeros_cost_no_room_so_only_the_card_bounds_them(tmp_path):
    bomb = samples.make_compression_bomb(str(tmp_path), "base.img.xz", GiB, b"\0")
    with pytest.raises(BuildError, match="more than output.size holds"):
        decompress_base(bomb, str(tmp_path / "base.raw"), 256 * MiB, "output.size", room=0)


def test_a_raw_base_larger_than_the_card_is_refused_before_any_copy(tmp_path):
    raw = tmp_path / "base.img"
    with open(raw, "wb") as handle:
        handle.truncate(64 * MiB + 1)
    with pytest.raises(BuildError, match=r"^the base image is 67108865 bytes, more than a 4 GB card holds "
                                         r"\(67108864 bytes\)$"):
        decompress_base(str(raw), str(tmp_path / "base.raw"), 64 * MiB, "a 4 GB card", room=GiB)
    assert not os.path.exists(tmp_path / "base.raw")


def test_canceling_stops_the_decompressor(tmp_path):
    bomb = samples.make_compression_bomb(str(tmp_path), "base.img.zst", 64 * MiB, ONES)
    token = CancelToken()
    token.cancel("order canceled")
    with pytest.raises(Canceled, match="order canceled"):
        decompress_base(bomb, str(tmp_path / "base.raw"), GiB, "a 4 GB card", room=GiB, cancel=token)
    assert decompressors_left() == []


def test_a_corrupt_base_fails_naming_its_decompressor(tmp_path):
    corrupt = tmp_path / "base.img.xz"
    corrupt.write_bytes(b"not xz at all")
    with pytest.raises(CommandError, match=r"^xz failed \(exit 1\): .*format"):
        decompress_base(str(corrupt), str(tmp_path / "base.raw"), GiB, "a 4 GB card", room=GiB)
