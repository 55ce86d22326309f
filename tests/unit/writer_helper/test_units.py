"""forget's busy test: a running slot whose status line says it works on a card (real Slot lines)."""

import pytest

from cardshop.writer_helper import units
from tests.ansible.test_drain import busy_pattern, slot_in


def test_forget_and_drain_yml_call_the_same_status_lines_busy():
    assert units.BUSY.pattern == busy_pattern()


@pytest.mark.parametrize("step", ["received", "downloading", "writing", "verifying", None])
def test_a_running_slot_working_on_a_card_is_busy(step):
    slot = slot_in("busy")
    slot.progress(step, 42.0, 38e6, task="t1", order="6b0f00d1e2")
    assert units.is_busy("active", slot.status_line())
    assert units.is_busy("deactivating", slot.status_line())


@pytest.mark.parametrize("state", ["no_reader", "empty", "ready", "refused", "done", "failed"])
def test_a_running_slot_not_writing_is_not_busy(state):
    assert not units.is_busy("active", slot_in(state, "for order 6b0f00d1").status_line())


@pytest.mark.parametrize("active", ["inactive", "failed", "unknown"])
def test_a_stopped_unit_is_not_busy_whatever_its_last_status_line(active):
    slot = slot_in("busy")
    slot.progress("writing", 42.0, 38e6, task="t1", order="6b0f00d1e2")
    assert not units.is_busy(active, slot.status_line())
    assert not units.is_busy(active, "")
