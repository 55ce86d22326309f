"""Writing mapped blocks with bmaptool's library and reading them back with O_DIRECT, on loop devices."""

import hashlib
import subprocess

import pytest

from cardshop.writer import burn
from devstack import cards
from tests.unit.writer.conftest import MiB, make_image


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    made = make_image(str(tmp_path_factory.mktemp("image")))
    raw = made["raw"] + ".unpacked"
    subprocess.run(["zstd", "-dqf", "--sparse", made["paths"]["image"], "-o", raw], check=True)
    return {**made, "unpacked": raw}


def test_the_block_map_gives_the_mapped_ranges_in_bytes(image):
    size, ranges = burn.mapped_ranges(image["paths"]["bmap"])
    assert size == 64 * MiB
    assert ranges == [(0, MiB), (20 * MiB, 23 * MiB), (63 * MiB, 64 * MiB)]


def test_a_written_card_holds_the_image_and_verifies(readers, image, tmp_path):
    device, = readers()
    path = cards.insert(device, str(tmp_path), 128 * MiB)
    ticks = []
    written = burn.write(image["unpacked"], image["paths"]["bmap"], device, lambda done, total: ticks.append(done))
    assert written == 5 * MiB and ticks[-1] == 5 * MiB
    assert burn.verify(image["unpacked"], image["paths"]["bmap"], device) == 5 * MiB
    with open(path, "rb") as handle:
        assert hashlib.sha256(handle.read(image["image_size"])).hexdigest() == image["sha256"]


def test_a_flipped_byte_on_the_card_is_found_at_its_offset(readers, image, tmp_path):
    device, = readers()
    path = cards.insert(device, str(tmp_path), 128 * MiB)
    burn.write(image["unpacked"], image["paths"]["bmap"], device)
    bad = 21 * MiB + 12345
    with open(path, "r+b") as handle:
        handle.seek(bad)
        byte = handle.read(1)
        handle.seek(bad)
        handle.write(bytes([byte[0] ^ 0x40]))
    with pytest.raises(burn.BurnError, match=f"mismatch at byte {bad}") as caught:
        burn.verify(image["unpacked"], image["paths"]["bmap"], device)
    assert caught.value.offset == bad


def test_a_card_smaller_than_the_image_is_not_written(readers, image, tmp_path):
    device, = readers()
    cards.insert(device, str(tmp_path), 32 * MiB)
    with pytest.raises(burn.BurnError, match="holds 33554432 bytes; the image needs 67108864"):
        burn.write(image["unpacked"], image["paths"]["bmap"], device)


def test_a_stop_from_the_progress_callback_ends_the_write(readers, image, tmp_path):
    device, = readers()
    cards.insert(device, str(tmp_path), 128 * MiB)

    class Removed(Exception):
        pass

    def progress(done, total):
        raise Removed("card removed mid-write")

    with pytest.raises(Removed):
        burn.write(image["unpacked"], image["paths"]["bmap"], device, progress)
