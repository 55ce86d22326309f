"""Schema errors name what is wrong, and every missing or unknown field at once."""

from cardshop.api import schemas
from cardshop.validation import Validator


def test_every_missing_field_is_named_at_once():
    assert Validator(schemas.SHIPMENT).first_error({}) == "missing fields 'carrier', 'tracking_number'"
    assert Validator(schemas.SHIPMENT).first_error({"carrier": "DHL"}) == "missing field 'tracking_number'"


def test_every_unknown_field_is_named_at_once():
    body = {"carrier": "DHL", "tracking_number": "1", "colour": "red", "box": 2}
    assert Validator(schemas.SHIPMENT).first_error(body) == "unknown fields 'box', 'colour'"
