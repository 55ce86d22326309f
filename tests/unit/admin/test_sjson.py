"""Decoding FerretDB 1.24's stored JSON: every type exactly, and nothing guessed."""

import datetime
import json

import bson
import pytest
from bson.codec_options import CodecOptions, DatetimeConversion

from cardshop.admin.sjson import DecodeError, decode

UTC = datetime.timezone.utc
EXACT = CodecOptions(tz_aware=True, datetime_conversion=DatetimeConversion.DATETIME_AUTO)


def row(fields, **values):
    """A stored row: `fields` maps each name to its schema elem, in order; `values` its JSON values."""
    return json.dumps({"$s": {"p": fields, "$k": list(fields)}, **values})


def one(elem, value):
    return decode(row({"_id": {"t": "string"}, "v": elem}, _id="x", v=value))["v"]


def test_int32_long_and_double_stay_apart_though_json_writes_them_alike():
    document = decode(row({"i": {"t": "int"}, "l": {"t": "long"}, "d": {"t": "double"}}, i=1, l=1, d=1))
    assert type(document["i"]) is int and type(document["l"]) is bson.Int64 and type(document["d"]) is float
    assert bson.decode(bson.encode(document)) == {"i": 1, "l": bson.Int64(1), "d": 1.0}
    assert bson.encode(document) == bson.encode({"i": 1, "l": bson.Int64(1), "d": 1.0})


@pytest.mark.parametrize("value", [2 ** 31 - 1, -(2 ** 31)])
def test_int32_keeps_its_edges(value):
    assert one({"t": "int"}, value) == value


@pytest.mark.parametrize("elem,value", [({"t": "int"}, 2 ** 31), ({"t": "long"}, 2 ** 63), ({"t": "int"}, 1.5),
                                        ({"t": "date"}, 1.5), ({"t": "timestamp"}, -1)])
def test_numbers_outside_their_type_are_refused(elem, value):
    with pytest.raises(DecodeError, match="field v"):
        one(elem, value)


@pytest.mark.parametrize("literal,expected", [("5e-324", 5e-324), ("1.7976931348623157e+308", 1.7976931348623157e308),
                                              ("0.1", 0.1), ("-0", -0.0),
                                              ("12345678901234567890", 1.2345678901234567e19)])
def test_doubles_are_read_to_the_last_bit(literal, expected):
    text = '{"$s":{"p":{"v":{"t":"double"}},"$k":["v"]},"v":%s}' % literal
    value = decode(text)["v"]
    assert value.hex() == expected.hex()


def test_a_double_too_large_for_64_bits_is_refused():
    with pytest.raises(DecodeError):
        decode('{"$s":{"p":{"v":{"t":"double"}},"$k":["v"]},"v":1e400}')


def test_nan_and_infinity_literals_are_refused():
    with pytest.raises(DecodeError, match="NaN"):
        decode('{"$s":{"p":{"v":{"t":"double"}},"$k":["v"]},"v":NaN}')


def test_dates_are_utc_with_milliseconds_on_both_sides_of_the_epoch():
    assert one({"t": "date"}, 1767323045678) == datetime.datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert one({"t": "date"}, -1) == datetime.datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert one({"t": "date"}, -62135596800000) == datetime.datetime(1, 1, 1, tzinfo=UTC)


def test_dates_beyond_the_year_9999_stay_exact_milliseconds():
    value = one({"t": "date"}, 253402300800005)
    assert value == bson.DatetimeMS(253402300800005)
    assert bson.decode(bson.encode({"v": value}), EXACT)["v"] == bson.DatetimeMS(253402300800005)


def test_a_timestamp_splits_into_seconds_and_increment():
    assert one({"t": "timestamp"}, (1700000000 << 32) | 7) == bson.Timestamp(1700000000, 7)


def test_binary_keeps_its_subtype_and_subtype_0_is_bytes_as_pymongo_gives_it():
    assert one({"t": "binData", "s": 0}, "AAE=") == b"\x00\x01" and type(one({"t": "binData", "s": 0}, "")) is bytes
    uuid = one({"t": "binData", "s": 4}, "AAECAwQFBgcICQoLDA0ODw==")
    assert isinstance(uuid, bson.Binary) and uuid.subtype == 4 and bytes(uuid) == bytes(range(16))
    assert one({"t": "binData", "s": 128}, "/w==") == bson.Binary(b"\xff", 128)


@pytest.mark.parametrize("elem,value", [({"t": "binData", "s": 0}, "not base64!"), ({"t": "binData"}, "AA=="),
                                        ({"t": "binData", "s": 300}, "AA==")])
def test_binary_that_does_not_decode_is_refused(elem, value):
    with pytest.raises(DecodeError):
        one(elem, value)


def test_object_ids_regexes_bools_and_strings():
    assert one({"t": "objectId"}, "6b166b0271a84395c40a8134") == bson.ObjectId("6b166b0271a84395c40a8134")
    regex = one({"t": "regex", "o": "im"}, "^card-[0-9]+$")
    assert (regex.pattern, regex.flags) == ("^card-[0-9]+$", bson.Regex("", "im").flags)
    assert one({"t": "bool"}, False) is False
    assert one({"t": "string"}, 'q"\\\u003c\u00e9\U0001F600') == 'q"\\<é😀'


@pytest.mark.parametrize("elem,value", [({"t": "objectId"}, "6b166b"), ({"t": "objectId"}, "zz" * 12),
                                        ({"t": "regex", "o": "g"}, "a"), ({"t": "bool"}, 1), ({"t": "string"}, 1),
                                        ({"t": "null"}, 0)])
def test_values_that_do_not_fit_their_type_are_refused(elem, value):
    with pytest.raises(DecodeError):
        one(elem, value)


def test_null_is_null_whatever_the_schema_says():
    assert one({"t": "int"}, None) is None and one({"t": "null"}, None) is None


def test_field_order_comes_from_the_schema_not_from_the_json():
    text = ('{"$s":{"p":{"b":{"t":"int"},"a":{"t":"object","$s":{"p":{"z":{"t":"int"},"y":{"t":"int"}},'
            '"$k":["z","y"]}}},"$k":["b","a"]},"a":{"y":2,"z":1},"b":0}')
    document = decode(text)
    assert list(document) == ["b", "a"] and list(document["a"]) == ["z", "y"]


def test_arrays_give_each_item_its_own_type_and_empty_containers_need_no_schema():
    elem = {"t": "array", "i": [{"t": "int"}, {"t": "long"}, {"t": "double"}, {"t": "null"},
                                {"t": "object", "$s": {"p": {"k": {"t": "array"}}, "$k": ["k"]}}, {"t": "object"}]}
    value = one(elem, [1, 1, 1, None, {"k": []}, {}])
    assert [type(item) for item in value[:3]] == [int, bson.Int64, float]
    assert value[3:] == [None, {"k": []}, {}]


def test_an_empty_document_is_stored_with_an_empty_schema():
    assert decode('{"$s":{}}') == {}


@pytest.mark.parametrize("text,message", [
    ('{"$s":{"p":{"v":{"t":"decimal"}},"$k":["v"]},"v":"1.5"}', "'decimal' is not one FerretDB 1.24 stores"),
    ('{"$s":{"p":{"v":{"t":"int"}},"$k":["v","w"]},"v":1}', "do not match"),
    ('{"$s":{"p":{"v":{"t":"int"}},"$k":["v","v"]},"v":1,"w":2}', "do not match"),
    ('{"$s":{"p":{},"$k":["v"]},"v":1}', "no type"),
    ('{"v":1}', "no schema"),
    ('{"$s":{"p":{"v":{"t":"array","i":[{"t":"int"}]}},"$k":["v"]},"v":[1,2]}', "1 items"),
    ('[1]', "not a JSON object"),
    ('{"$s":', "not valid JSON"),
])
def test_what_does_not_decode_exactly_is_refused_with_the_field_named(text, message):
    with pytest.raises(DecodeError, match=message):
        decode(text)


def test_an_error_names_the_nested_field():
    text = '{"$s":{"p":{"a":{"t":"array","i":[{"t":"object","$s":{"p":{"b":{"t":"int"}},"$k":["b"]}}]}},"$k":["a"]},' \
           '"a":[{"b":"x"}]}'
    with pytest.raises(DecodeError, match=r"^field a\.0\.b: expected an int32"):
        decode(text)


def test_rows_read_as_utf8_bytes_decode_like_text():
    text = row({"_id": {"t": "string"}}, _id="écrite ✓")
    assert decode(text.encode()) == decode(text) == {"_id": "écrite ✓"}
