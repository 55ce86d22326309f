"""Recipe rules beyond their JSON shape."""

import pytest

from cardshop.recipes import RecipeError, card_capacity, parse_size, validate_recipe


@pytest.mark.parametrize("text, size", [
    (1, 1), ("512", 512), ("1K", 1024), ("64G", 64 * 1024**3), ("2T", 2 * 1024**4), ("3MiB", 3 * 1024**2),
])
def test_sizes_parse_like_truncate(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "G", "1.5G", "-1", 0, "64GB", "64 X", True, None, [1]])
def test_bad_sizes_are_refused_naming_the_field(text):
    with pytest.raises(RecipeError, match="output.size"):
        parse_size(text)


def test_a_card_holds_97_percent_of_its_decimal_size():
    assert card_capacity(64) == 62_080_000_000


def recipe(**changes):
    base = {"output": {"size": "1G"}, "files": [{"to": "/data/a.txt", "content": "x"}]}
    base.update(changes)
    return base


def test_a_good_recipe_passes_and_gives_its_size():
    assert validate_recipe(recipe(), 4) == 1024**3
    assert validate_recipe(recipe(output={"size": "auto"}), 4) is None


def test_an_image_larger_than_the_card_is_refused():
    with pytest.raises(RecipeError, match="do not fit a 4 GB card"):
        validate_recipe(recipe(output={"size": "4G"}), 4)


@pytest.mark.parametrize("to, message", [
    ("/etc/passwd", "under /data"), ("data/x", "absolute"), ("/data/../etc", "normalised"),
    ("/data/./x", "normalised"), ("/data", "under /data"),
])
def test_files_must_land_under_data(to, message):
    with pytest.raises(RecipeError, match=message):
        validate_recipe(recipe(files=[{"to": to, "content": "x"}]), 4)


def test_two_files_may_not_land_on_the_same_path():
    files = [{"to": "/data/a", "content": "x"}, {"to": "/data/a/b", "content": "y"}]
    with pytest.raises(RecipeError, match=r"files\[1\].to"):
        validate_recipe(recipe(files=files), 4)


@pytest.mark.parametrize("item, message", [
    ({"to": "/data/a"}, "exactly one of"),
    ({"to": "/data/a", "content": "x", "url": "https://e.org/a"}, "exactly one of"),
    ({"to": "/data/a", "url": "ftp://e.org/a"}, "http"),
    ({"to": "/data/a", "url": "https://e.org/a", "checksum": {"algo": "crc32", "value": "ab"}}, "unknown algorithm"),
    ({"to": "/data/a", "url": "https://e.org/a", "checksum": {"algo": "sha256", "value": "ab"}}, "not a sha256"),
    ({"to": "/data/a", "content": "x", "via": "tar"}, "go with 'url'"),
])
def test_file_entries_are_checked(item, message):
    with pytest.raises(RecipeError, match=message):
        validate_recipe(recipe(files=[item]), 4)


def test_the_base_image_is_checked():
    with pytest.raises(RecipeError, match="base.checksum.algo"):
        validate_recipe(recipe(base={"source": "https://e.org/b.img.xz",
                                     "checksum": {"algo": "rot13", "value": "x"}}), 4)


@pytest.mark.parametrize("to, message", [
    ("/data/a\0b", "NUL"),
    ("/data/" + "é" * 128, "over 255 bytes"),
    ("/data/dir/" + "a" * 256 + "/x", "over 255 bytes"),
    ("/data/lost+found", "belongs to the file system"),
    ("/data/lost+found/x", "belongs to the file system"),
])
def test_targets_the_creator_cannot_write_are_refused(to, message):
    with pytest.raises(RecipeError, match=message):
        validate_recipe(recipe(files=[{"to": to, "content": "x"}]), 4)


def test_a_name_of_255_bytes_is_accepted():
    validate_recipe(recipe(files=[{"to": "/data/" + "a" * 255, "content": "x"}]), 4)
