"""Request bodies: what JSON the API refuses before any handler sees it."""

import pytest

from cardshop.api.routing import ApiError, _parse_json
from cardshop.validation import Validator

ANY_OBJECT = Validator({"type": "object"})


@pytest.mark.parametrize("raw, message", [
    (b"[" * 100000, "nested more than 64"),
    (b'{"a": ' + b"[" * 65 + b"1" + b"]" * 65 + b"}", "nested more than 64"),
    (b'{"a": 1, "a": 2}', "'a' appears more than once"),
    (b'{"a": "\\ud800"}', "lone surrogate"),
    (b'{"\\udfff": 1}', "lone surrogate"),
    (b"", "empty"),
])
def test_malformed_bodies_are_refused_with_400_naming_the_problem(raw, message):
    with pytest.raises(ApiError) as refused:
        _parse_json(raw, ANY_OBJECT)
    assert refused.value.status == 400 and message in refused.value.message


def test_a_body_nested_64_deep_with_paired_surrogates_is_accepted():
    raw = b'{"a": ' + b"[" * 63 + b'"\\ud83d\\ude00"' + b"]" * 63 + b"}"
    assert _parse_json(raw, ANY_OBJECT)["a"]
