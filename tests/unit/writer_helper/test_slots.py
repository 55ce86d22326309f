"""The slots file: one entry per slot, each reader once, checked against SLOTS_SCHEMA."""

import pytest
import yaml

from cardshop.config.load import load_config
from cardshop.config.writer import SLOTS_SCHEMA
from cardshop.writer_helper import slots
from cardshop.writer_helper.readers import Identity

USB = Identity("/dev/sdb", "sdb", {"ID_PATH": "pci-0000:00:14.0-usb-0:2:1.0-scsi-0:0:0:0"}, "Acme Reader", False)
LOOP3 = Identity("/dev/loop3", "loop3", {"DEVNAME": "/dev/loop3"}, "loop device", True)
LOOP4 = Identity("/dev/loop4", "loop4", {"DEVNAME": "/dev/loop4"}, "loop device", True)


def test_a_real_reader_is_opened_through_its_stable_link():
    assert slots.entry(3, USB) == {"slot": 3, "match": USB.match, "device": "/dev/cardshop/slot-3",
                                   "label": "Acme Reader"}


def test_a_loop_device_is_opened_directly():
    assert slots.entry(1, LOOP3)["device"] == "/dev/loop3"


def test_a_loop_device_goes_through_its_slot_link_for_writer_at_n():
    assert slots.entry(1, LOOP3, loop_direct=False)["device"] == "/dev/cardshop/slot-1"


@pytest.mark.parametrize("number", [0, 65, -1])
def test_slot_numbers_outside_1_to_64_are_refused(number):
    with pytest.raises(slots.SlotsError, match="from 1 to 64"):
        slots.entry(number, LOOP3)


def test_identifying_a_slot_again_replaces_its_entry():
    merged = slots.merge([slots.entry(1, LOOP3)], slots.entry(1, LOOP4))
    assert merged == [slots.entry(1, LOOP4)]


def test_a_reader_moved_to_another_slot_number_leaves_its_old_one():
    merged = slots.merge([slots.entry(1, LOOP3), slots.entry(2, LOOP4)], slots.entry(3, LOOP3))
    assert [(item["slot"], item["device"]) for item in merged] == [(2, "/dev/loop4"), (3, "/dev/loop3")]


def test_the_written_file_loads_with_the_writers_schema(tmp_path):
    path = str(tmp_path / "slots.yaml")
    slots.write(path, [slots.entry(2, USB), slots.entry(1, LOOP3)])
    assert load_config(SLOTS_SCHEMA, path)["slots"] == [slots.entry(2, USB), slots.entry(1, LOOP3)]
    assert slots.read(path) == [slots.entry(2, USB), slots.entry(1, LOOP3)]


def test_a_missing_file_has_no_slots(tmp_path):
    assert slots.read(str(tmp_path / "slots.yaml")) == []


def test_an_invalid_file_is_named_with_the_key_at_fault(tmp_path):
    path = tmp_path / "slots.yaml"
    path.write_text(yaml.safe_dump({"slots": [{"slot": 1, "device": "/dev/loop3"}]}))
    with pytest.raises(slots.SlotsError, match=r"slots.yaml.*missing key 'slots.0.match'"):
        slots.read(str(path))


def test_an_entry_the_schema_refuses_is_not_written(tmp_path):
    path = tmp_path / "slots.yaml"
    with pytest.raises(slots.SlotsError, match="refusing to write"):
        slots.write(str(path), [{"slot": 1, "match": {}, "device": "/dev/loop3"}])
    assert not path.exists()


def test_forgetting_a_slot_keeps_the_others():
    assert slots.without([slots.entry(1, LOOP3), slots.entry(2, LOOP4)], 1) == [slots.entry(2, LOOP4)]


def test_forgetting_a_slot_the_file_does_not_have_names_it_and_the_known_ones():
    with pytest.raises(slots.SlotsError, match=r"^slot 5 is not in /etc/x/slots.yaml \(known slots: 1, 2\)$"):
        slots.without([slots.entry(1, LOOP3), slots.entry(2, LOOP4)], 5, "/etc/x/slots.yaml")


def test_forgetting_a_slot_when_there_is_none_says_none_are_known():
    with pytest.raises(slots.SlotsError, match=r"\(known slots: none\)"):
        slots.without([], 1)
