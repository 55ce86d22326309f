"""The systemd units under systemd/: what every daemon unit keeps, one hardening block, the target."""

import glob
import os
import re

import pytest

from tests.unit.config.test_load import REPO

UNITS = sorted(glob.glob(os.path.join(REPO, "systemd", "*.service")))
TARGET = os.path.join(REPO, "systemd", "cardshop.target")
# command-line tools, no unit
TOOLS = {"cardshop", "cardshop-writer-helper", "cardshop-admin", "cardshop-database-setup"}
DAEMONS = sorted(name for name in os.listdir(os.path.join(REPO, "daemons")) if name not in TOOLS)
TEMPLATES = {"cardshop-writer": "writer@"}  # one instance per card-reader slot
REQUIRED = ["Type=notify", "Restart=on-failure", "RestartPreventExitStatus=78", "PartOf=cardshop.target",
            "WantedBy=cardshop.target", "ProtectSystem=strict", "ProtectHome=yes",
            "PrivateTmp=yes", "NoNewPrivileges=yes", "CapabilityBoundingSet=", "DevicePolicy=closed",
            "SystemCallFilter=@system-service"]
STOP_GOAL = 10  # seconds for `systemctl stop cardshop.target`


def read(path):
    with open(path) as handle:
        return handle.read()


def hardening(path):
    """The paragraph from `# Hardening` to the next blank line, comments included."""
    text = read(path)
    start = text.index("# Hardening")
    return text[start:text.index("\n\n", start)].strip()


def after_hardening(path):
    """What follows the hardening paragraph in [Service]: a unit's relaxations."""
    text = read(path)
    start = text.index("\n\n", text.index("# Hardening"))
    return text[start:text.index("\n[", start)].strip()


def directives(path):
    return [line.strip() for line in read(path).splitlines() if "=" in line and not line.startswith("#")]


def value(path, key):
    [found] = [line.split("=", 1)[1] for line in directives(path) if line.startswith(f"{key}=")]
    return found


def test_every_daemon_has_its_unit():
    assert [os.path.basename(path) for path in UNITS] == sorted(f"{TEMPLATES.get(name, name)}.service"
                                                                for name in DAEMONS)


@pytest.mark.parametrize("path", UNITS, ids=os.path.basename)
def test_every_unit_keeps_the_required_directives(path):
    lines = directives(path)
    assert [line for line in REQUIRED if line not in lines] == []
    assert any(line.startswith("WatchdogSec=") for line in lines)
    assert any(line.startswith("RestrictAddressFamilies=") for line in lines)


@pytest.mark.parametrize("path", UNITS, ids=os.path.basename)
def test_every_unit_runs_as_its_own_user_and_group_with_the_configuration_group_beside(path):
    daemon = "cardshop-writer" if os.path.basename(path) == "writer@.service" else \
        os.path.basename(path).removesuffix(".service")
    assert (value(path, "User"), value(path, "Group")) == (daemon, daemon)
    assert "cardshop" in value(path, "SupplementaryGroups").split()


def test_only_the_daemons_that_log_in_as_the_system_account_have_its_group():
    having = [os.path.basename(path) for path in UNITS if "cardshop-system" in value(path, "SupplementaryGroups")]
    assert having == ["cardshop-beat.service", "cardshop-monitor.service", "cardshop-scheduler.service"]


def test_only_the_writer_slots_which_share_a_user_keep_their_ipc_objects_at_stop():
    keeping = [os.path.basename(path) for path in UNITS if "RemoveIPC=no" in directives(path)]
    assert keeping == ["writer@.service"]
    assert "RemoveIPC=yes" in hardening(UNITS[0])


@pytest.mark.parametrize("path", UNITS[1:], ids=os.path.basename)
def test_every_unit_has_the_same_hardening_block(path):
    assert hardening(path) == hardening(UNITS[0])


@pytest.mark.parametrize("path", UNITS, ids=os.path.basename)
def test_every_relaxation_after_the_hardening_block_is_commented(path):
    lines = after_hardening(path).splitlines()
    assert not lines or lines[0].startswith("# Relaxations")
    uncommented = [line for before, line in zip(lines, lines[1:]) if not line.startswith("#") and
                   not before.startswith("#")]
    assert uncommented == []


@pytest.mark.parametrize("path", UNITS, ids=os.path.basename)
def test_no_read_only_paths_that_protect_system_strict_already_makes_read_only(path):
    assert not [line for line in directives(path) if line.startswith("ReadOnlyPaths=")]


@pytest.mark.parametrize("path", UNITS, ids=os.path.basename)
def test_every_unit_stops_in_time_for_the_target(path):
    assert int(value(path, "TimeoutStopSec")) < STOP_GOAL


@pytest.mark.parametrize("path", UNITS, ids=os.path.basename)
def test_state_directories_match_the_sample_configs(path):
    """Every /var/lib/cardshop path of a role's sample config is a StateDirectory= of its unit."""
    role = os.path.basename(path).removeprefix("cardshop-").removesuffix("@.service").removesuffix(".service")
    sample = read(os.path.join(REPO, "etc", f"{role}.yaml"))
    paths = set(re.findall(r"^\s+\w+: /var/lib/(cardshop/\S+)$", sample, re.MULTILINE))
    state = {directory for line in directives(path) if line.startswith("StateDirectory=")
             for directory in line.split("=", 1)[1].split()}
    assert paths <= state


def test_the_writer_reaches_only_its_own_slot_device():
    writer = os.path.join(REPO, "systemd", "writer@.service")
    lines = directives(writer)
    assert [line for line in lines if line.startswith("DeviceAllow=")] == ["DeviceAllow=/dev/cardshop/slot-%i rw"]
    assert "BindPaths=-/dev/cardshop/slot-%i" in lines and "PrivateDevices=yes" in lines
    assert "--slot %i" in value(writer, "ExecStart")
    assert {"ConditionPathExists=/etc/cardshop/writer.yaml", "ConditionPathExists=/etc/cardshop/slots.yaml"} <= \
        set(lines)
    assert "%i is the slot's number" in read(writer)


def test_the_target_is_wanted_by_multi_user_and_wants_the_network():
    lines = directives(TARGET)
    assert "WantedBy=multi-user.target" in lines and "After=network-online.target" in lines
