"""The systemd units under systemd/: one hardening block, the same in every unit."""

import glob
import os

import pytest

from tests.unit.config.test_load import REPO

UNITS = sorted(glob.glob(os.path.join(REPO, "systemd", "*.service")))
TOOLS = {"cardshop", "cardshop-writer-helper"}  # command-line tools, no unit
DAEMONS = sorted(name for name in os.listdir(os.path.join(REPO, "daemons")) if name not in TOOLS)
TEMPLATES = {"cardshop-writer": "writer@"}  # one instance per card-reader slot


def hardening(path):
    """The directives from `# Hardening` to the next section, comments included."""
    with open(path) as handle:
        text = handle.read()
    return text[text.index("# Hardening"):text.index("\n[", text.index("# Hardening"))].strip()


def directives(path):
    with open(path) as handle:
        return [line.strip() for line in handle if "=" in line and not line.startswith("#")]


def test_every_daemon_has_its_unit():
    assert [os.path.basename(path) for path in UNITS] == sorted(f"{TEMPLATES.get(name, name)}.service"
                                                                for name in DAEMONS)


@pytest.mark.parametrize("path", UNITS[1:], ids=os.path.basename)
def test_every_unit_has_the_same_hardening_block(path):
    assert hardening(path) == hardening(UNITS[0])


@pytest.mark.parametrize("path", UNITS, ids=os.path.basename)
def test_no_read_only_paths_that_protect_system_strict_already_makes_read_only(path):
    assert "ProtectSystem=strict" in directives(path)
    assert not [line for line in directives(path) if line.startswith("ReadOnlyPaths=")]


@pytest.mark.parametrize("path", UNITS, ids=os.path.basename)
def test_every_daemon_is_watched(path):
    lines = directives(path)
    assert "Type=notify" in lines and any(line.startswith("WatchdogSec=") for line in lines)
