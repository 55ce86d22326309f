"""Partition layout: the base's table is read (or refused by name), the data partition goes after it."""

import subprocess

import pytest

from cardshop.image import layout
from cardshop.recipes import card_capacity

MiB = 1024 * 1024


def disk(tmp_path, script=None, size=48 * MiB, name="disk.img"):
    """A sparse file of `size` bytes, partitioned by the sfdisk `script` when given."""
    path = tmp_path / name
    with open(path, "wb") as handle:
        handle.truncate(size)
    if script is not None:
        subprocess.run(["sfdisk", "--quiet", str(path)], input=script.encode(), check=True)
    return str(path)


def test_a_base_without_a_partition_table_is_refused_naming_its_url(tmp_path):
    with pytest.raises(layout.LayoutError, match=r"^base image https://example.org/b.img has no partition table$"):
        layout.base_table(disk(tmp_path), "https://example.org/b.img")


def test_a_base_whose_table_lists_no_partition_is_refused(tmp_path):
    with pytest.raises(layout.LayoutError, match="has no partition table"):
        layout.base_table(disk(tmp_path, "label: dos\n"), "https://example.org/b.img")


def test_without_a_url_the_refusal_names_the_file(tmp_path):
    path = disk(tmp_path)
    with pytest.raises(layout.LayoutError, match=f"base image {path} has"):
        layout.base_table(path)


def test_a_base_with_partitions_gives_its_table_and_where_they_end(tmp_path):
    table = layout.base_table(disk(tmp_path, "label: dos\nstart=2048, size=32768, type=c\n"), "b.img")
    assert table["label"] == "dos"
    assert layout.used_end(table) == (2048 + 32768) * 512


def test_read_table_says_none_for_a_blank_disk(tmp_path):
    assert layout.read_table(disk(tmp_path)) is None


@pytest.mark.parametrize("value, aligned", [(0, 0), (1, 4 * MiB), (4 * MiB, 4 * MiB), (4 * MiB + 1, 8 * MiB)])
def test_align_up_rounds_to_the_next_4_mib(value, aligned):
    assert layout.align_up(value) == aligned


def test_without_a_base_the_data_partition_starts_at_4_mib_and_fills_the_disk(tmp_path):
    path = disk(tmp_path)
    offset, size = layout.add_data_partition(path, None)
    assert offset == 4 * MiB
    assert offset + size == 48 * MiB


def test_the_data_partition_goes_after_the_base_aligned(tmp_path):
    path = disk(tmp_path, "label: dos\nstart=2048, size=32768, type=c\n")
    offset, size = layout.add_data_partition(path, layout.base_table(path))
    assert offset == layout.align_up((2048 + 32768) * 512)
    assert offset + size == 48 * MiB
    assert len(layout.read_table(path)["partitions"]) == 2


def test_a_dos_base_with_four_primary_partitions_leaves_no_room(tmp_path):
    script = "label: dos\n" + "".join(f"size={4 * MiB // 512}, type=83\n" for _ in range(4))
    path = disk(tmp_path, script)
    with pytest.raises(layout.LayoutError, match="4 primary partitions"):
        layout.add_data_partition(path, layout.base_table(path))


def test_auto_size_picks_the_smallest_standard_card_that_holds_the_content():
    card, capacity = layout.auto_size(0, 1500 * MiB, 10)
    assert card == 2
    assert capacity <= card_capacity(2) and capacity % layout.ALIGN == 0


def test_auto_size_refuses_content_no_standard_card_holds():
    with pytest.raises(layout.LayoutError, match="do not fit the largest standard card"):
        layout.auto_size(0, 3 * 1000 ** 4, 1)
