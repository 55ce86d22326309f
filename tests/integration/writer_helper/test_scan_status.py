"""scan and status: what the host itself can tell about its readers and cards."""

import os

from devstack import cards

MB = 1024 * 1024


def row(output, device):
    [line] = [line for line in output.splitlines() if line.split()[:1] == [device]
              or line.split()[1:2] == [device]]
    return line.split()


def test_scan_lists_the_loop_readers_with_card_present_and_size(helper, readers, tmp_path):
    cards.insert(readers[0], str(tmp_path / "cards"), 64 * MB)
    result = helper("scan", "--loop")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].split() == ["DEVICE", "ID_PATH", "VENDOR", "MODEL", "CARD", "SIZE"]
    assert row(result.stdout, readers[0])[4:] == ["yes", "67", "MB"]
    assert row(result.stdout, readers[1])[4:] == ["no", "-"]


def test_scan_without_loop_leaves_loop_devices_out(helper, readers):
    result = helper("scan")
    assert result.returncode == 0, result.stderr
    assert not [line for line in result.stdout.splitlines() if "/dev/loop" in line]


def test_status_shows_each_slot_reader_card_and_unit(helper, readers, tmp_path):
    for number, device in ((1, readers[0]), (2, readers[1])):
        assert helper("identify", "--slot", str(number), "--device", device).returncode == 0
    assert helper("enable").returncode == 0
    cards.insert(readers[1], str(tmp_path / "cards"), 2 * 1000 * MB)
    result = helper("status")
    assert result.returncode == 0, result.stderr
    systemd = os.path.isdir("/run/systemd/system")
    first, second = row(result.stdout, "/dev/cardshop/slot-1"), row(result.stdout, "/dev/cardshop/slot-2")
    assert first[:5] == ["1", "/dev/cardshop/slot-1", "yes", "no", "-"]
    assert second[:6] == ["2", "/dev/cardshop/slot-2", "yes", "yes", "2.1", "GB"]
    assert "enabled," in second and (systemd or "systemd" in second)


def test_status_says_when_a_slots_reader_is_absent(helper, readers):
    os.makedirs(helper.config_dir)
    with open(helper.slots, "w") as handle:
        handle.write("slots: [{slot: 4, match: {ID_PATH: pci-0000:00:14.0-usb-0:9:1.0-scsi-0:0:0:0}, "
                     "device: /dev/cardshop/slot-4}]\n")
    result = helper("status")
    assert result.returncode == 0, result.stderr
    assert row(result.stdout, "/dev/cardshop/slot-4")[:5] == ["4", "/dev/cardshop/slot-4", "absent", "no", "-"]
