"""Sizes a recipe gives with its URL files: checked by the rules, counted in the estimate and the card suggested."""

import pytest

from cardshop.recipes import RecipeError, estimate, parse_human_size, suggest_card, validate_recipe

URL = "https://e.org/wiki.zim"


def recipe(*files, size="auto"):
    return {"output": {"size": size}, "files": list(files)}


def test_a_url_file_may_give_its_size_in_bytes():
    assert validate_recipe(recipe({"to": "/data/w.zim", "url": URL, "size": 0}), 4) is None
    assert validate_recipe(recipe({"to": "/data/w.zim", "url": URL, "size": 3 * 10**9}), 4) is None


@pytest.mark.parametrize("size", [-1, 1.5, "4G", True, None, [1]])
def test_a_size_that_is_not_whole_bytes_is_refused_naming_the_field(size):
    with pytest.raises(RecipeError, match=r"recipe.files\[0\].size: expected the bytes"):
        validate_recipe(recipe({"to": "/data/w.zim", "url": URL, "size": size}), 4)


def test_a_size_goes_with_a_url_not_with_inline_content():
    with pytest.raises(RecipeError, match="'size' go with 'url'"):
        validate_recipe(recipe({"to": "/data/a.txt", "content": "x", "size": 1}), 4)


def test_declared_sizes_that_do_not_fit_the_card_or_the_image_are_refused():
    big = {"to": "/data/w.zim", "url": URL, "size": 3_900_000_000}
    with pytest.raises(RecipeError, match="the files declare 3900000001 bytes; a 4 GB card holds 3880000000"):
        validate_recipe(recipe(big, {"to": "/data/a.txt", "content": "x"}), 4)
    assert validate_recipe(recipe(big), 8) is None
    with pytest.raises(RecipeError, match="recipe.output.size is only 1073741824"):
        validate_recipe(recipe(big, size="1G"), 8)


def test_the_estimate_counts_given_sizes_and_inline_content_and_names_the_rest_unknown():
    files = [{"to": "/data/w.zim", "url": URL, "size": 4_200_000_000},
             {"to": "/data/b.zim", "url": URL},
             {"to": "/data/a.txt", "content": "héllo"}]
    assert estimate(recipe(*files)) == (4_200_000_006, 1, None)
    assert suggest_card(recipe(*files)) == 8
    assert suggest_card(recipe(*files[1:])) == 4
    assert suggest_card(recipe(files[1])) is None


def test_the_estimate_says_what_it_can_of_a_recipe_not_yet_checked():
    assert estimate({"output": "8G", "files": 3}) == (0, 0, None)
    assert estimate(recipe({"to": "/data/w", "url": URL, "size": "big"}, "junk")) == (0, 1, None)


@pytest.mark.parametrize("text, size", [
    ("123", 123), ("4.2G", int(4.2 * 1024**3)), ("512M", 512 * 1024**2), ("512 MiB", 512 * 1024**2),
    ("1k", 1024), ("2T", 2 * 1024**4), (" 7 ", 7),
])
def test_human_sizes_read_like_output_size_with_decimals(text, size):
    assert parse_human_size(text, "size") == size


@pytest.mark.parametrize("text", ["", "G", "-1", "1,5G", "4.2X", "1e9"])
def test_human_sizes_that_do_not_read_are_refused_naming_the_field(text):
    with pytest.raises(RecipeError, match="recipe.files.0..size: expected bytes"):
        parse_human_size(text, "recipe.files[0].size")
