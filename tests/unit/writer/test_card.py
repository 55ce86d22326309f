"""Card checks on real loop devices: free, writable, sized, and not lying about its size."""

import os
import subprocess
import sys
import time

import pytest

from cardshop.writer import card as cards
from devstack import cards as readers_mod
from tests.unit.config.test_load import REPO

MiB = 1024 * 1024


def test_a_blank_card_is_inspected_and_passes_the_capacity_check(readers, tmp_path):
    device, = readers()
    readers_mod.insert(device, str(tmp_path), 128 * MiB)
    card = cards.inspect(device)
    assert card.size == 128 * MiB and card.seq
    cards.check_capacity(card)


def test_the_capacity_check_leaves_the_card_as_it_was(readers, tmp_path):
    device, = readers()
    path = readers_mod.insert(device, str(tmp_path), 64 * MiB)
    with open(path, "r+b") as handle:
        handle.write(b"x" * 4096)
    cards.check_capacity(cards.inspect(device))
    with open(path, "rb") as handle:
        data = handle.read()
    assert data[:4096] == b"x" * 4096 and data[4096:] == bytes(64 * MiB - 4096)


def test_a_mounted_card_is_refused(readers, tmp_path):
    device, = readers()
    readers_mod.insert(device, str(tmp_path), 64 * MiB)
    subprocess.run(["mke2fs", "-q", "-t", "ext4", device], check=True)
    mountpoint = tmp_path / "mnt"
    mountpoint.mkdir()
    subprocess.run(["mount", device, str(mountpoint)], check=True)
    try:
        with pytest.raises(cards.CardError, match="mounted or in use"):
            cards.inspect(device)
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


def test_a_read_only_card_is_refused(readers, tmp_path):
    device, = readers()
    path = tmp_path / "locked.img"
    path.write_bytes(bytes(MiB))
    subprocess.run(["losetup", "-r", device, str(path)], check=True)
    with pytest.raises(cards.CardError, match="read-only"):
        cards.inspect(device)


def test_markers_cover_the_card_to_its_last_block_and_every_power_of_two():
    offsets = cards.marker_offsets(64 * MiB)
    assert offsets[0] == 0 and offsets[-1] == 64 * MiB - cards.BLOCK
    assert {MiB, 2 * MiB, 16 * MiB, 32 * MiB} <= set(offsets)
    assert all(offset % cards.BLOCK == 0 for offset in offsets)


@pytest.fixture
def fake_card(tmp_path):
    """A FUSE file that says 64 MiB and wraps around 16 MiB of real storage (tests/unit/writer/fakecard.py)."""
    mountpoint = tmp_path / "fake"
    mountpoint.mkdir()
    backing = tmp_path / "flash.img"
    backing.write_bytes(bytes(16 * MiB))
    process = subprocess.Popen([sys.executable, "-m", "tests.unit.writer.fakecard", str(mountpoint), str(backing),
                                str(64 * MiB)], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while not os.path.exists(mountpoint / "card.img"):
        assert process.poll() is None and time.monotonic() < deadline, "the fake card did not mount"
        time.sleep(0.05)
    yield str(mountpoint / "card.img")
    subprocess.run(["umount", str(mountpoint)], check=False)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def test_a_card_that_lies_about_its_size_is_refused(fake_card, readers):  # the card leaves the reader first
    device, = readers()
    subprocess.run(["losetup", device, fake_card], check=True)
    card = cards.inspect(device)
    assert card.size == 64 * MiB  # what it claims
    with pytest.raises(cards.CardError, match="lies about its size"):
        cards.check_capacity(card)


def test_a_card_is_present_until_its_loop_device_is_being_detached(readers, tmp_path):
    device, = readers()
    assert not cards.present(device)
    readers_mod.insert(device, str(tmp_path), MiB)
    assert cards.present(device)
    held = os.open(device, os.O_RDONLY)
    try:
        readers_mod.remove(device)  # deferred while we hold it open: only `autoclear` says so
        assert not cards.present(device)
    finally:
        os.close(held)
