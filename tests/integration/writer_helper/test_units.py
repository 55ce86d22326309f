"""enable/disable: exactly one writer@N link per configured slot, in the systemd folder given."""

import os

UNIT = "/usr/lib/systemd/system/writer@.service"


def links(helper):
    if not os.path.isdir(helper.wants_dir):
        return {}
    return {name: os.readlink(os.path.join(helper.wants_dir, name)) for name in sorted(os.listdir(helper.wants_dir))}


def identify(helper, *pairs):
    for number, device in pairs:
        result = helper("identify", "--slot", str(number), "--device", device)
        assert result.returncode == 0, result.stderr


def test_enable_links_writer_at_n_for_each_configured_slot_and_nothing_else(helper, readers):
    identify(helper, (1, readers[0]), (3, readers[1]))
    os.makedirs(helper.wants_dir)
    os.symlink("/lib/systemd/system/ssh.service", os.path.join(helper.wants_dir, "ssh.service"))
    result = helper("enable")
    assert result.returncode == 0, result.stderr
    assert "enabled: writer@1.service, writer@3.service" in result.stdout
    assert links(helper) == {"ssh.service": "/lib/systemd/system/ssh.service",
                             "writer@1.service": UNIT, "writer@3.service": UNIT}


def test_enable_removes_the_links_of_slots_that_no_longer_exist(helper, readers):
    identify(helper, (1, readers[0]), (2, readers[1]))
    assert helper("enable").returncode == 0
    identify(helper, (2, readers[0]))  # the reader of slot 1 is now slot 2; slot 1 is gone
    result = helper("enable")
    assert result.returncode == 0, result.stderr
    assert "removed (no such slot any more): writer@1.service" in result.stdout
    assert links(helper) == {"writer@2.service": UNIT}


def test_enable_twice_changes_nothing(helper, readers):
    identify(helper, (1, readers[0]))
    assert helper("enable").returncode == 0
    before = links(helper)
    assert helper("enable").returncode == 0
    assert links(helper) == before == {"writer@1.service": UNIT}


def test_disable_removes_every_writer_link_and_only_those(helper, readers):
    identify(helper, (1, readers[0]), (2, readers[1]))
    assert helper("enable").returncode == 0
    os.symlink(UNIT, os.path.join(helper.wants_dir, "writer@9.service"))  # a slot from an older setup
    os.symlink("/lib/systemd/system/ssh.service", os.path.join(helper.wants_dir, "ssh.service"))
    result = helper("disable")
    assert result.returncode == 0, result.stderr
    assert "disabled: writer@1.service, writer@2.service, writer@9.service" in result.stdout
    assert links(helper) == {"ssh.service": "/lib/systemd/system/ssh.service"}


def test_enable_without_slots_says_to_identify_first(helper):
    result = helper("enable")
    assert result.returncode == 1 and "run `cardshop-writer-helper identify` first" in result.stderr
    assert links(helper) == {}


def test_enable_refuses_an_invalid_slots_file_with_78(helper):
    os.makedirs(helper.config_dir)
    with open(helper.slots, "w") as handle:
        handle.write("slots: [{slot: 1, match: {}, device: /dev/loop3}]\n")
    result = helper("enable")
    assert result.returncode == 78 and "slots.yaml" in result.stderr and "Traceback" not in result.stderr
