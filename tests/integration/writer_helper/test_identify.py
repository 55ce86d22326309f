"""identify: slot numbers -> readers, in slots.yaml and the udev rule (real loop devices and uevents)."""

import os
import shutil
import subprocess

import pytest

from cardshop.config.load import load_config
from cardshop.config.writer import SLOTS_SCHEMA
from devstack import cards
from tests.integration.writer_helper.conftest import GROUP, wait_for_line

MB = 1024 * 1024


def test_identify_slot_and_device_writes_slots_yaml_and_the_udev_rule(helper, readers):
    first, second = readers
    for number, device in ((1, second), (2, first)):
        result = helper("identify", "--slot", str(number), "--device", device)
        assert result.returncode == 0, result.stderr
    slots = load_config(SLOTS_SCHEMA, helper.slots)["slots"]
    assert [(item["slot"], item["match"], item["device"]) for item in slots] == [
        (1, {"DEVNAME": second}, "/dev/cardshop/slot-1"), (2, {"DEVNAME": first}, "/dev/cardshop/slot-2")]
    with open(helper.rule) as handle:
        rules = [line for line in handle.read().splitlines() if not line.startswith("#")]
    assert rules == [
        f'SUBSYSTEM=="block", ENV{{DEVTYPE}}=="disk", KERNEL=="{os.path.basename(second)}", '
        f'SYMLINK+="cardshop/slot-1", GROUP="{GROUP}", MODE="0660"',
        f'SUBSYSTEM=="block", ENV{{DEVTYPE}}=="disk", KERNEL=="{os.path.basename(first)}", '
        f'SYMLINK+="cardshop/slot-2", GROUP="{GROUP}", MODE="0660"']


def test_identify_asks_for_a_card_in_each_slot_and_records_the_reader_that_got_it(helper, readers, tmp_path):
    first, second = readers
    with helper.running("identify", "--only", f"{first},{second}", "--timeout", "60") as process:
        wait_for_line(process, "insert a card into the slot you want to call 1")
        cards.insert(second, str(tmp_path / "cards"), 64 * MB)
        assert second in wait_for_line(process, "slot 1:")
        wait_for_line(process, "insert a card into the slot you want to call 2")
        cards.insert(first, str(tmp_path / "cards"), 64 * MB)
        assert first in wait_for_line(process, "slot 2:")
        wait_for_line(process, "insert a card into the slot you want to call 3")
        process.stdin.write("\n")  # Enter: every slot is done
        process.stdin.flush()
        assert process.wait(timeout=30) == 0, process.stderr.read()
    slots = load_config(SLOTS_SCHEMA, helper.slots)["slots"]
    assert [(item["slot"], item["match"]["DEVNAME"]) for item in slots] == [(1, second), (2, first)]
    with open(helper.rule) as handle:
        text = handle.read()
    assert f'KERNEL=="{os.path.basename(second)}", SYMLINK+="cardshop/slot-1"' in text
    assert f'KERNEL=="{os.path.basename(first)}", SYMLINK+="cardshop/slot-2"' in text


def test_a_reader_that_already_holds_a_card_is_not_taken_for_the_next_slot(helper, readers, tmp_path):
    first, second = readers
    cards.insert(first, str(tmp_path / "cards"), 64 * MB)  # left in from before
    with helper.running("identify", "--only", f"{first},{second}", "--timeout", "60") as process:
        wait_for_line(process, "the slot you want to call 1")
        cards.insert(second, str(tmp_path / "cards"), 64 * MB)
        assert second in wait_for_line(process, "slot 1:")
        wait_for_line(process, "the slot you want to call 2")
        process.stdin.close()  # end of input: done
        assert process.wait(timeout=30) == 0, process.stderr.read()
    assert [item["match"]["DEVNAME"] for item in load_config(SLOTS_SCHEMA, helper.slots)["slots"]] == [second]


def test_identify_without_any_card_writes_nothing_and_says_so(helper, readers):
    with helper.running("identify", "--only", ",".join(readers)) as process:
        wait_for_line(process, "the slot you want to call 1")
        process.stdin.close()
        assert process.wait(timeout=30) == 1
        assert "no slot identified; nothing written" in process.stderr.read()
    assert not os.path.exists(helper.slots)


@pytest.mark.parametrize("args, code, message", [
    (("--slot", "1", "--device", "/dev/no-such-reader"), 1, "no device /dev/no-such-reader"),
    (("--slot", "1", "--device", "/dev/null"), 1, "/dev/null is not a whole disk"),
    (("--slot", "0", "--device", "READER"), 2, "slot numbers go from 1 to 64"),
    (("--slot", "1"), 2, "--slot and --device go together"),
])
def test_bad_identify_arguments_get_a_clear_message_and_exit_code(helper, readers, args, code, message):
    result = helper("identify", *[readers[0] if arg == "READER" else arg for arg in args])
    assert (result.returncode, message in result.stderr) == (code, True), result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_slots_yaml_stops_identify_with_78(helper, readers):
    os.makedirs(helper.config_dir)
    with open(helper.slots, "w") as handle:
        handle.write("slots: [{slot: one}]\n")
    result = helper("identify", "--slot", "1", "--device", readers[0])
    assert result.returncode == 78 and "slots.yaml" in result.stderr, result.stderr


@pytest.mark.skipif(not shutil.which("udevadm") or not shutil.which("unshare"), reason="needs udevadm and unshare")
def test_udevadm_runs_the_rule_and_links_the_slot(helper, readers):
    # udevadm (systemd 252) reads rules only from its fixed folders: give it a private /run/udev
    # in a mount namespace, then undo the link and mode it applies to the real /dev.
    device = readers[0]
    assert helper("identify", "--slot", "7", "--device", device).returncode == 0
    mode = os.stat(device).st_mode
    script = ("mount --make-rprivate / && mkdir -p /run/udev && mount -t tmpfs tmpfs /run/udev && "
              "mkdir /run/udev/rules.d && "
              f"cp {helper.rule} /run/udev/rules.d/ && "
              f"udevadm test --action=change /sys/class/block/{os.path.basename(device)}")
    made = not os.path.exists("/dev/cardshop")
    try:
        done = subprocess.run(["unshare", "--mount", "sh", "-c", script], capture_output=True, text=True,
                              timeout=60)
    finally:
        link = "/dev/cardshop/slot-7"
        if os.path.islink(link) and os.path.realpath(link) == device:
            os.unlink(link)
        if made and os.path.isdir("/dev/cardshop") and not os.listdir("/dev/cardshop"):
            os.rmdir("/dev/cardshop")
        os.chmod(device, mode & 0o7777)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "61-cardshop-slots.rules:3 LINK 'cardshop/slot-7'" in output
    [links] = [line for line in output.splitlines() if line.startswith("DEVLINKS=")]
    assert "/dev/cardshop/slot-7" in links.removeprefix("DEVLINKS=").split()
