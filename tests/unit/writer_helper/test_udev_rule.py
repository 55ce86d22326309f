"""The udev rule that gives each slot's reader its /dev/cardshop/slot-N link."""

import pytest

from cardshop.writer_helper import slots, udev_rule
from cardshop.writer_helper.readers import Identity

USB = Identity("/dev/sdb", "sdb", {"ID_PATH": "pci-0000:00:14.0-usb-0:2.1:1.0-scsi-0:0:0:0"}, "Generic SD reader",
               False)
LOOP = Identity("/dev/loop3", "loop3", {"DEVNAME": "/dev/loop3"}, "loop device", True)


def rule_lines(text):
    return [line for line in text.splitlines() if not line.startswith("#")]


def test_a_real_reader_is_matched_by_its_id_path_and_linked_as_its_slot():
    [line] = rule_lines(udev_rule.render([slots.entry(2, USB)]))
    assert line == ('SUBSYSTEM=="block", ENV{DEVTYPE}=="disk", '
                    'ENV{ID_PATH}=="pci-0000:00:14.0-usb-0:2.1:1.0-scsi-0:0:0:0", '
                    'SYMLINK+="cardshop/slot-2", GROUP="cardshop-writer", MODE="0660"')


def test_a_loop_device_is_matched_by_its_kernel_name():
    [line] = rule_lines(udev_rule.render([slots.entry(1, LOOP)]))
    assert 'KERNEL=="loop3"' in line and 'SYMLINK+="cardshop/slot-1"' in line and "ENV{DEVNAME}" not in line


def test_the_rule_lists_slots_in_order_whatever_the_order_given():
    text = udev_rule.render([slots.entry(2, USB), slots.entry(1, LOOP)])
    assert [line.split("slot-")[1][0] for line in rule_lines(text)] == ["1", "2"]


def test_no_slots_make_a_rule_file_that_links_nothing():
    assert rule_lines(udev_rule.render([])) == []


@pytest.mark.parametrize("value", ['pci-0000"x', "usb-*", "a b", "pci-[0]"])
def test_a_match_value_a_rule_cannot_hold_literally_is_refused(value):
    odd = Identity("/dev/sdc", "sdc", {"ID_PATH": value}, "", False)
    with pytest.raises(slots.SlotsError, match="udev rule"):
        slots.entry(1, odd)


def test_the_rule_file_is_written_whole_and_readable_by_udev(tmp_path):
    path = tmp_path / "rules.d" / "61-cardshop-slots.rules"
    udev_rule.write(str(path), [slots.entry(1, LOOP)])
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert "cardshop/slot-1" in path.read_text()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
