"""What the monitor accepts from workers, before anything reaches the database."""

import pytest

from cardshop.domain.placement import _slots
from cardshop.monitor.service import first_error

BEAT = {"type": "heartbeat", "worker": "writ1@host-a", "online": True, "at": "2026-01-01T00:00:00Z"}
SLOT = {"number": 2, "state": "ready", "message": "card of 16 GB", "card": {"size": 16 * 10 ** 9, "serial": None},
        "task": None, "order": None, "step": None, "percent": None, "rate": None}
SLOT_BEAT = {**BEAT, "worker": "writ1@host-a.slot-2", "slots": 1, "images": [], "slot": SLOT}
REPORT = {"task": "0" * 24, "run": "a" * 32, "seq": 1, "type": "status", "status": "received",
          "at": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize("body", [BEAT, {**BEAT, "slots": 4, "images": ["wiki.img.zst"], "active": 1}, SLOT_BEAT,
                                  {**SLOT_BEAT, "slot": {"number": 2, "state": "empty"}},
                                  {**SLOT_BEAT, "slot": {**SLOT, "state": "busy", "task": "a" * 24, "order": "b" * 24,
                                                         "step": "writing", "percent": 42.5, "rate": 38e6,
                                                         "card": {"size": 4 * 10 ** 9, "serial": "0x1234"}}},
                                  REPORT, {**REPORT, "type": "log", "level": "info", "message": "hi"}])
def test_well_formed_reports_and_heartbeats_pass(body):
    assert first_error(body) is None


@pytest.mark.parametrize("body, error", [
    ([1, 2], "expected object"), ("x", "expected object"), (None, "expected object"),
    ({**BEAT, "slots": "x"}, "'slots'"), ({**BEAT, "slots": 10 ** 12}, "'slots'"),
    ({**BEAT, "slots": True}, "'slots'"), ({**BEAT, "images": "wiki"}, "'images'"),
    ({**BEAT, "images": [{"$gt": ""}]}, "'images.0'"), ({**BEAT, "worker": "host-a"}, "<username>@<host>"),
    ({**BEAT, "hostname": "x@y"}, "unknown field 'hostname'"), ({**BEAT, "online": "yes"}, "'online'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "state": "writing"}}, "'slot.state'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "number": 0}}, "'slot.number'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "number": 65}}, "'slot.number'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "number": "2"}}, "'slot.number'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "message": "x" * 501}}, "'slot.message'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "task": "../x"}}, "'slot.task'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "order": {"$ne": None}}}, "'slot.order'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "step": "formatting"}}, "'slot.step'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "percent": 101}}, "'slot.percent'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "rate": -1}}, "'slot.rate'"),
    ({**SLOT_BEAT, "slot": {**SLOT, "card": {"size": -1}}}, "'slot.card"),
    ({**SLOT_BEAT, "slot": {**SLOT, "card": {"size": 1, "serial": "a b"}}}, "'slot.card"),
    ({**SLOT_BEAT, "slot": {**SLOT, "owner": "x"}}, "unknown field 'slot.owner'"),
    ({**SLOT_BEAT, "slot": [SLOT]}, "'slot'"),
    ({**REPORT, "seq": "1"}, "'seq'"), ({**REPORT, "type": "worker-heartbeat"}, "'type'"),
])
def test_malformed_messages_are_named(body, error):
    assert error in first_error(body)


@pytest.mark.parametrize("stored, slots", [(4, 4), (None, 0), ("x", 0), (True, 0), (-1, 0), (10 ** 9, 0)])
def test_a_stored_slot_count_that_no_heartbeat_could_carry_places_nothing(stored, slots):
    assert _slots({"_id": "w@h", "slots": stored}) == slots
