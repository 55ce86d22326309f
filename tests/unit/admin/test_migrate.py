"""The copy's checksum: exact about types and values, blind to the order a server returns documents in."""

import bson

from cardshop.admin.migrate import Fingerprint


def fingerprint(*documents):
    found = Fingerprint()
    for document in documents:
        found.add(bson.encode(document))
    return found.count, found.hexdigest()


def test_the_order_of_documents_does_not_change_the_checksum():
    assert fingerprint({"_id": 1}, {"_id": 2}, {"_id": 3}) == fingerprint({"_id": 3}, {"_id": 1}, {"_id": 2})


def test_a_type_a_value_or_a_field_order_changes_it():
    base = fingerprint({"_id": 1, "n": 1, "m": 2})
    assert fingerprint({"_id": 1, "n": bson.Int64(1), "m": 2}) != base
    assert fingerprint({"_id": 1, "n": 1.0, "m": 2}) != base
    assert fingerprint({"_id": 1, "m": 2, "n": 1}) != base
    assert fingerprint({"_id": 1, "n": 1, "m": 3}) != base


def test_a_duplicated_or_missing_document_changes_it():
    assert fingerprint({"_id": 1}, {"_id": 1}) != fingerprint({"_id": 1})
    assert fingerprint() == (0, Fingerprint().hexdigest())
