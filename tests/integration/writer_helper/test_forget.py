"""forget: one slot out of slots.yaml, the udev rule, /dev/cardshop and the writer@N links; the others stay."""

import os

from cardshop.config.load import load_config
from cardshop.config.writer import SLOTS_SCHEMA
from tests.integration.writer_helper.test_units import UNIT, identify, links


def files(helper):
    with open(helper.slots) as slots, open(helper.rule) as rule:
        return slots.read(), rule.read()


def test_forget_drops_exactly_that_slot_its_rule_line_its_link_and_its_unit(helper, readers):
    identify(helper, (1, readers[0]), (2, readers[1]))
    assert helper("enable").returncode == 0
    assert os.path.islink(helper.link(1))
    result = helper("forget", "--slot", "1")
    assert result.returncode == 0, result.stderr
    assert "forgot slot 1: writer@1.service unlinked" in result.stdout
    assert [(item["slot"], item["match"]) for item in load_config(SLOTS_SCHEMA, helper.slots)["slots"]] == [
        (2, {"DEVNAME": readers[1]})]
    with open(helper.rule) as handle:
        rule = handle.read()
    assert "cardshop/slot-1" not in rule and f'KERNEL=="{os.path.basename(readers[1])}"' in rule
    assert not os.path.lexists(helper.link(1))
    assert os.path.realpath(helper.link(2)) == readers[1]
    assert links(helper) == {"writer@2.service": UNIT}
    assert helper("enable").returncode == 0  # and enable agrees: nothing more to remove
    assert links(helper) == {"writer@2.service": UNIT}


def test_forgetting_a_slot_again_is_an_error_naming_the_known_slots(helper, readers):
    identify(helper, (1, readers[0]), (2, readers[1]))
    assert helper("enable").returncode == 0
    assert helper("forget", "--slot", "2").returncode == 0
    before = files(helper)
    result = helper("forget", "--slot", "2")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"slot 2 is not in {helper.slots} (known slots: 1)" in result.stderr
    assert files(helper) == before and links(helper) == {"writer@1.service": UNIT}


def test_forgetting_the_last_slot_leaves_no_slot_and_enable_says_to_identify(helper, readers):
    identify(helper, (3, readers[0]))
    assert helper("enable").returncode == 0
    result = helper("forget", "--slot", "3")
    assert result.returncode == 0, result.stderr
    assert load_config(SLOTS_SCHEMA, helper.slots)["slots"] == []
    assert links(helper) == {} and not os.path.lexists(helper.link(3))
    assert "run `cardshop-writer-helper identify` first" in helper("enable").stderr


def test_forget_without_slots_file_or_slot_number_is_a_usage_error(helper):
    result = helper("forget", "--slot", "1")
    assert result.returncode == 2 and "(known slots: none)" in result.stderr, result.stderr
    result = helper("forget")
    assert result.returncode == 2 and "--slot" in result.stderr
    assert not os.path.exists(helper.slots)


def test_forget_refuses_an_invalid_slots_file_with_78(helper):
    os.makedirs(helper.config_dir)
    with open(helper.slots, "w") as handle:
        handle.write("slots: [{slot: 1, match: {}, device: /dev/loop3}]\n")
    result = helper("forget", "--slot", "1")
    assert result.returncode == 78 and "slots.yaml" in result.stderr and "Traceback" not in result.stderr
