"""Decode one document as FerretDB 1.24 stored it in SQLite into the Python values pymongo encodes as BSON.

A row is one JSON object: the document's fields in JSON, and under "$s" a
schema that says which BSON type each field had, because JSON alone cannot
tell int32 from int64, double or a date. A schema is
`{"p": {field: elem, ...}, "$k": [fields in their order]}` (`{}` for an
empty document); an elem is `{"t": type}`, plus "$s" (the sub-schema) for
an object, "i" (one elem per item) for an array, "s" (the subtype) for
binData and "o" (the options) for a regex. The values:

    double     a JSON number (FerretDB 1.24 wrote -0.0 as 0; NaN and infinities it refused)
    int, long  a JSON integer (int32, int64)
    date       a JSON integer: milliseconds since 1970-01-01 UTC
    timestamp  a JSON integer: the 64-bit value (seconds << 32 | increment)
    string     a JSON string
    bool       true or false
    null       null; and a JSON null is BSON null whatever its elem says
    objectId   a string of 24 hex digits
    binData    a string in base64 (standard alphabet, padded)
    regex      the pattern as a string, the options in the elem
    object     a JSON object (its keys' order from the sub-schema)
    array      a JSON array

Those thirteen are every type FerretDB 1.24 stores (it refused Decimal128,
MinKey, MaxKey, JavaScript and the deprecated ones). Anything else, or a
value that does not fit its type, raises DecodeError: nothing is guessed.

Decoded values: float; int for int32 (pymongo writes a Python int that fits
as int32); bson.Int64; a timezone-aware UTC datetime (bson.DatetimeMS when
outside datetime's years 1-9999); bson.Timestamp; str; bool; None;
bson.ObjectId; bytes for binary subtype 0, bson.Binary for the others (as
pymongo decodes them); bson.Regex; dict; list.
"""

import base64
import binascii
import datetime
import json
import math

import bson

INT32 = (-(2 ** 31), 2 ** 31 - 1)
INT64 = (-(2 ** 63), 2 ** 63 - 1)
UINT64_END = 2 ** 64
REGEX_OPTIONS = frozenset("ilmsux")
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class DecodeError(Exception):
    """A stored document that cannot be decoded exactly; `path` names the field ("" for the document).

    The path is put together only on the way out of a failure (`within`), so
    that decoding a good document builds no path at all.
    """

    def __init__(self, message):
        super().__init__(message)
        self.message, self._parts = message, []

    def within(self, key):
        self._parts.append(str(key))
        return self

    @property
    def path(self):
        return ".".join(reversed(self._parts))

    def __str__(self):
        return f"field {self.path}: {self.message}" if self._parts else self.message


class _Integer(str):
    """A JSON integer literal, kept as written until its schema type is known."""


class _Fraction(str):
    """A JSON number literal with a fraction or an exponent."""


def _refuse_constant(name):
    raise DecodeError(f"{name} is not JSON (FerretDB 1.24 never wrote it)")


def _parse(text):
    try:
        return json.loads(text, parse_int=_Integer, parse_float=_Fraction, parse_constant=_refuse_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise DecodeError(f"not valid JSON: {exc}") from None


def decode(text):
    """The document stored as `text` (str or UTF-8 bytes): a dict in the stored field order."""
    data = _parse(text)
    if not isinstance(data, dict):
        raise DecodeError("the row is not a JSON object")
    if "$s" not in data:
        raise DecodeError('the row has no schema ("$s")')
    schema = data.pop("$s")
    return _document(data, schema)


def stored_id(text):
    """The document's _id as a short string for messages, or None when even that cannot be read."""
    try:
        data = _parse(text)
        value = data.get("_id") if isinstance(data, dict) else None
    except DecodeError:
        return None
    return None if value is None else json.dumps(value)[:80]


def _show(data):
    """A stored value as JSON, for a message (a number as it was written)."""
    return str(data) if isinstance(data, (_Integer, _Fraction)) else json.dumps(data)[:60]


def _expect(data, kinds, what):
    if not isinstance(data, kinds) or isinstance(data, (_Integer, _Fraction)):  # numbers are kept as str
        raise DecodeError(f"expected {what}, found {_show(data)}")
    return data


def _document(data, schema):
    _expect(data, dict, "an object")
    if not data:
        return {}
    if not isinstance(schema, dict):
        raise DecodeError("a non-empty object has no schema")
    keys, elems = schema.get("$k"), schema.get("p")
    if not isinstance(keys, list) or not isinstance(elems, dict):
        raise DecodeError('the schema lacks "$k" or "p"')
    if len(keys) != len(data) or len(set(keys)) != len(keys) or set(keys) != set(data):
        raise DecodeError(f"the schema's fields {keys[:10]} do not match the stored fields {list(data)[:10]}")
    document = {}
    for key in keys:
        try:
            document[key] = _value(data[key], elems.get(key))
        except DecodeError as exc:
            raise exc.within(key) from None
    return document


def _array(data, elem):
    _expect(data, list, "an array")
    items = elem.get("i") or []
    if not isinstance(items, list) or len(items) != len(data):
        raise DecodeError(f"the schema lists {len(items) if isinstance(items, list) else '?'} items, "
                          f"the array holds {len(data)}")
    values = []
    for index, item in enumerate(data):
        try:
            values.append(_value(item, items[index]))
        except DecodeError as exc:
            raise exc.within(index) from None
    return values


def _integer(data, bounds, what):
    if not isinstance(data, _Integer):
        raise DecodeError(f"expected {what}, found {_show(data)}")
    value = int(data)
    if not bounds[0] <= value <= bounds[1]:
        raise DecodeError(f"{value} is out of the range of {what}")
    return value


def _double(data, elem):
    if not isinstance(data, (_Integer, _Fraction)):
        raise DecodeError(f"expected a number, found {_show(data)}")
    value = float(data)
    if not math.isfinite(value):
        raise DecodeError(f"{data} does not fit a double")
    return value


def _int32(data, elem):
    return _integer(data, INT32, "an int32")


def _int64(data, elem):
    return bson.Int64(_integer(data, INT64, "an int64"))


def _date(data, elem):
    milliseconds = _integer(data, INT64, "a date (milliseconds, int64)")
    try:
        return EPOCH + datetime.timedelta(milliseconds=milliseconds)
    except OverflowError:  # outside years 1-9999: BSON holds it, datetime does not
        return bson.DatetimeMS(milliseconds)


def _timestamp(data, elem):
    value = _integer(data, (0, UINT64_END - 1), "a timestamp (uint64)")
    return bson.Timestamp(value >> 32, value & 0xFFFFFFFF)


def _string(data, elem):
    return _expect(data, str, "a string")


def _bool(data, elem):
    if not isinstance(data, bool):
        raise DecodeError(f"expected true or false, found {_show(data)}")
    return data


def _null(data, elem):
    raise DecodeError(f"expected null, found {_show(data)}")  # a null never gets here


def _object_id(data, elem):
    _expect(data, str, "an ObjectId (24 hex digits)")
    try:
        raw = bytes.fromhex(data)
    except ValueError:
        raw = b""
    if len(raw) != 12 or len(data) != 24:
        raise DecodeError(f"expected an ObjectId (24 hex digits), found {data[:60]!r}")
    return bson.ObjectId(raw)


def _binary(data, elem):
    _expect(data, str, "binary data in base64")
    subtype = elem.get("s")  # parsed as a number literal, like the values
    subtype = int(subtype) if isinstance(subtype, _Integer) else None
    if subtype is None or not 0 <= subtype <= 255:
        subtype = elem.get("s")
        raise DecodeError(f"binary data without a valid subtype ({subtype!r})")
    try:
        raw = base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError(f"binary data is not base64: {data[:60]!r}") from None
    return raw if subtype == 0 else bson.Binary(raw, subtype)


def _regex(data, elem):
    _expect(data, str, "a regular expression's pattern")
    options = elem.get("o")
    if not isinstance(options, str) or not set(options) <= REGEX_OPTIONS:
        raise DecodeError(f"regular expression options {options!r} are not among {''.join(sorted(REGEX_OPTIONS))}")
    return bson.Regex(data, options)


def _object(data, elem):
    return _document(data, elem.get("$s"))


CONVERTERS = {
    "object": _object, "array": _array, "double": _double, "string": _string, "binData": _binary,
    "objectId": _object_id, "bool": _bool, "date": _date, "null": _null, "regex": _regex, "int": _int32,
    "timestamp": _timestamp, "long": _int64,
}


def _value(data, elem):
    if data is None:
        return None
    if not isinstance(elem, dict) or not isinstance(elem.get("t"), str):
        raise DecodeError("the schema gives no type")
    convert = CONVERTERS.get(elem["t"])
    if convert is None:
        raise DecodeError(f"type {elem['t']!r} is not one FerretDB 1.24 stores; nothing is guessed")
    return convert(data, elem)
