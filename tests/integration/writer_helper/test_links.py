"""Where no udevd applies the slots' rule (a container), identify and enable make /dev/cardshop/slot-N."""

import grp
import os
import stat

from tests.integration.writer_helper.conftest import GROUP


def node_of(link):
    return os.path.realpath(link)


def test_identify_links_the_slot_to_its_reader_with_the_rules_group_and_mode(helper, readers):
    result = helper("identify", "--slot", "1", "--device", readers[1])
    assert result.returncode == 0, result.stderr
    link = helper.link(1)
    assert os.readlink(link) == os.path.relpath(readers[1], os.path.dirname(link)) and node_of(link) == readers[1]
    info = os.stat(readers[1])
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o660, grp.getgrnam(GROUP).gr_gid)
    assert f"linked {link} -> {readers[1]} (group {GROUP}, mode 0660): no udevd applies the rule here" in result.stdout


def test_enable_makes_the_links_again_when_dev_lost_them(helper, readers):
    for number, device in ((1, readers[0]), (2, readers[1])):
        assert helper("identify", "--slot", str(number), "--device", device).returncode == 0
    for number in (1, 2):
        os.unlink(helper.link(number))  # a container's /dev is new at each boot
    result = helper("enable")
    assert result.returncode == 0, result.stderr
    assert [node_of(helper.link(number)) for number in (1, 2)] == readers


def test_a_reader_given_to_another_slot_takes_its_link_along(helper, readers):
    assert helper("identify", "--slot", "1", "--device", readers[0]).returncode == 0
    assert helper("identify", "--slot", "2", "--device", readers[0]).returncode == 0
    assert not os.path.lexists(helper.link(1)) and node_of(helper.link(2)) == readers[0]


def test_a_reader_only_udev_can_find_is_refused_with_the_reason(helper):
    os.makedirs(helper.config_dir)
    with open(helper.slots, "w") as handle:
        handle.write("slots: [{slot: 4, match: {ID_PATH: pci-0000:00:14.0-usb-0:9:1.0-scsi-0:0:0:0}, "
                     "device: /dev/cardshop/slot-4}]\n")
    result = helper("enable")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "slot 4: its reader is matched by ID_PATH, which only udev knows; start systemd-udevd" in result.stderr
    assert not os.path.exists(helper.wants_dir)
