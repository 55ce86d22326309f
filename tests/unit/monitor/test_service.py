"""What the monitor accepts from workers, before anything reaches the database."""

import pytest

from cardshop.domain.cascades import _slots
from cardshop.monitor.service import first_error

BEAT = {"type": "heartbeat", "worker": "writ1@host-a", "online": True, "at": "2026-01-01T00:00:00Z"}
REPORT = {"task": "0" * 24, "run": "a" * 32, "seq": 1, "type": "status", "status": "received",
          "at": "2026-01-01T00:00:00Z"}


@pytest.mark.parametrize("body", [BEAT, {**BEAT, "slots": 4, "images": ["wiki.img.zst"], "active": 1},
                                  REPORT, {**REPORT, "type": "log", "level": "info", "message": "hi"}])
def test_well_formed_reports_and_heartbeats_pass(body):
    assert first_error(body) is None


@pytest.mark.parametrize("body, error", [
    ([1, 2], "expected object"), ("x", "expected object"), (None, "expected object"),
    ({**BEAT, "slots": "x"}, "'slots'"), ({**BEAT, "slots": 10 ** 12}, "'slots'"),
    ({**BEAT, "slots": True}, "'slots'"), ({**BEAT, "images": "wiki"}, "'images'"),
    ({**BEAT, "images": [{"$gt": ""}]}, "'images.0'"), ({**BEAT, "worker": "host-a"}, "<username>@<host>"),
    ({**BEAT, "hostname": "x@y"}, "unknown field 'hostname'"), ({**BEAT, "online": "yes"}, "'online'"),
    ({**REPORT, "seq": "1"}, "'seq'"), ({**REPORT, "type": "worker-heartbeat"}, "'type'"),
])
def test_malformed_messages_are_named(body, error):
    assert error in first_error(body)


@pytest.mark.parametrize("stored, slots", [(4, 4), (None, 0), ("x", 0), (True, 0), (-1, 0), (10 ** 9, 0)])
def test_a_stored_slot_count_that_no_heartbeat_could_carry_places_nothing(stored, slots):
    assert _slots({"_id": "w@h", "slots": stored}) == slots
