"""The manager's forms: API errors land next to the field they name; recipes to forms and back; card sizes."""

import pytest

from cardshop.manager import forms


@pytest.mark.parametrize("message, field", [
    ("field 'recipient.email': must be an email address", "recipient_email"),
    ("missing field 'recipient.name'", "recipient_name"),
    ("recipe.output.size: 99999999999 bytes do not fit a 4 GB card (at most 3880000000 bytes)", "output_size"),
    ("recipe.files[2].to: must be under /data", "file_2"),
    ("field 'recipe.files.1.url': must be an http:// or https:// URL", "file_1"),
    ("field 'warehouse': no warehouse 'x'", "warehouse"),
    ("field 'sd_card.size': expected integer, got string", "card_size"),
    ("no warehouse given and no default warehouse is set", "form"),
])
def test_an_api_error_is_placed_next_to_the_field_it_names(message, field):
    assert forms.place_error(message) == {field: message}


def test_form_fields_named_as_the_api_names_them_are_found_by_name():
    assert forms.place_error("field 'username': 2-32 characters", "create", ("username",)) == {
        "username": "field 'username': 2-32 characters"}


def test_a_composed_recipe_goes_to_the_form_and_back_unchanged():
    recipe = {"output": {"size": "1G"}, "base": {"source": "https://example.org/b.img",
                                                  "checksum": {"algo": "sha256", "value": "a" * 64}},
              "files": [{"to": "/data/a.txt", "content": "hi"},
                        {"to": "/data/w.zim", "url": "https://example.org/w.zim", "size": 4509715660,
                         "checksum": {"algo": "sha256", "value": "b" * 64}}]}
    assert forms.recipe_from_form(forms.recipe_to_form(recipe)) == recipe


def test_a_url_rows_size_is_read_in_human_units_and_shown_back_in_bytes_and_gb():
    values = {"recipe_source": "compose", "output_size": "auto", "file_to_0": "/data/w.zim",
              "file_url_0": "https://example.org/w.zim", "file_size_0": "4.2G"}
    assert forms.recipe_from_form(values)["files"][0]["size"] == 4509715660
    assert forms.estimate_json(values) == {"known": 4509715660, "unknown": 0, "output": None, "suggestion": 8,
                                           "sizes": {0: "4509715660 bytes (4.51 GB)"}}
    wrong = {**values, "file_size_0": "lots"}
    assert forms.estimate_json(wrong)["field"] == "file_0"
    with pytest.raises(forms.FormError, match=r"recipe.files\[0\].size"):
        forms.recipe_from_form(wrong)
    assert forms.estimate_view(wrong)["known"] == 0


def test_a_recipe_the_rows_cannot_hold_is_edited_as_text():
    recipe = {"output": {"size": "auto"}, "files": [{"to": "/data/a.tar", "url": "https://e.org/a", "via": "tar"}]}
    assert forms.recipe_to_form(recipe) is None


def test_the_smallest_card_that_fits_is_suggested():
    assert forms.suggest_card({"output": {"size": "8G"}}) == 16  # 8 GiB does not fit a card sold as 8 GB
    assert forms.suggest_card({"output": {"size": "3G"}}) == 4
    assert forms.suggest_card({"output": {"size": "auto"}, "files": [{"to": "/data/a", "content": "x" * 10}]}) == 4
    assert forms.suggest_card({"output": {"size": "auto"}}) is None


def test_recipe_text_that_is_not_a_mapping_is_refused_naming_the_field():
    with pytest.raises(forms.FormError) as error:
        forms.parse_recipe_text("- just\n- a list")
    assert error.value.field == "recipe_text"
    with pytest.raises(forms.FormError):
        forms.parse_recipe_text("output: {size: [")


def test_json_and_yaml_exports_read_back_as_the_same_recipe():
    recipe = {"output": {"size": "2G"}, "files": [{"to": "/data/é.txt", "content": "<b>"}]}
    for fmt in ("yaml", "json"):
        assert forms.parse_recipe_text(forms.export_recipe(recipe, fmt)[0]) == recipe


def test_a_quantity_that_is_not_a_number_is_named():
    with pytest.raises(forms.FormError) as error:
        forms.order_from_form({"card_size": "4", "quantity": "two", "output_size": "1G"})
    assert error.value.field == "quantity"


def test_progress_reads_as_a_sentence_whatever_the_worker_sent():
    from cardshop.manager.orders import progress_line
    assert progress_line({"step": "downloading", "percent": 42.4, "bytes": 1.2e9, "total": 3e9, "rate": 38e6,
                          "eta": 31, "at": "x"}) == "downloading · 42 % · 1.2 GB of 3.0 GB · 38.0 MB/s · 31 s left"
    assert progress_line({"percent": "lots", "bytes": None}) == ""
    assert progress_line(None) == ""
