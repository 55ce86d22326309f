"""JSON Schema validation with one-line messages that name the offending key."""

import jsonschema

ID_PATTERN = "^[0-9a-f]{24}$"  # a document id: an ObjectId's 24 hex digits (cardshop.store.new_id)
SHORT_ID_LENGTH = 8


def short_id(document_id):
    """How pages and lines name a document to people: the end of its id. An ObjectId starts with its
    second of creation (ids made together share their start) and ends with a counter, so the end tells
    them apart; an order search finds an order by it (store/search.py)."""
    return str(document_id)[-SHORT_ID_LENGTH:]


def _name(path):
    return ".".join(str(part) for part in path) or "(top level)"


def _describe(error, noun):
    path = list(error.absolute_path)
    if error.validator == "additionalProperties":  # every one at once: the caller fixes them in one go
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return f"unknown {_plural(noun, extra)} {_names(path, extra)}"
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return f"missing {_plural(noun, missing)} {_names(path, missing)}"
    if error.validator == "type":
        return f"{noun} {_name(path)!r}: expected {error.validator_value}, got {type_name(error.instance)}"
    if error.validator == "enum":
        choices = ", ".join(repr(choice) for choice in error.validator_value)
        return f"{noun} {_name(path)!r}: expected one of {choices}"
    if error.validator == "pattern":
        hint = error.schema.get("x-hint", f"must match {error.validator_value}")
        return f"{noun} {_name(path)!r}: {hint}"
    if error.validator in ("oneOf", "anyOf"):
        # Report the closest alternative's error rather than "is not valid under any".
        inner = sorted(error.context, key=lambda e: -len(list(e.absolute_path)))
        if inner:
            return _describe(inner[0], noun)
    return f"{noun} {_name(path)!r}: {error.message}"


def _plural(noun, names):
    return noun if len(names) == 1 else f"{noun}s"


def _names(path, names):
    return ", ".join(repr(_name(path + [name])) for name in names)


def type_name(value):
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


class Validator:
    """Compiled schema; `first_error(data)` is None or one line naming the key."""

    def __init__(self, schema, noun="field"):
        self._validator = jsonschema.Draft202012Validator(schema)
        self._noun = noun

    def first_error(self, data):
        errors = list(self._validator.iter_errors(data))
        if not errors:
            return None
        # Shallowest path first so "missing field 'x'" wins over details inside x.
        errors.sort(key=lambda e: (len(list(e.absolute_path)), list(map(str, e.absolute_path))))
        return _describe(errors[0], self._noun)
