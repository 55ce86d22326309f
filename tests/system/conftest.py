"""Fixtures of the system tests: the .debs under test and booted Debian 13 machines.

These tests boot containers: they run through tmt (`make test-system`), not in
`make test`, which skips this folder unless CARDSHOP_SYSTEM_TESTS is set.
"""

import glob
import os

import pytest

from devstack import cards
from tests.system import machine

if not os.environ.get("CARDSHOP_SYSTEM_TESTS"):
    collect_ignore_glob = ["*"]


def debs_in(folder):
    """{package name: path} of the .debs in `folder` (the newest file per package)."""
    found = {}
    for path in sorted(glob.glob(os.path.join(folder, "*.deb")), key=os.path.getmtime):
        found[os.path.basename(path).split("_", 1)[0]] = path
    return found


@pytest.fixture(scope="session")
def debs():
    folder = os.environ.get("CARDSHOP_DEBS") or os.path.join(machine.VAR, "debs")
    found = debs_in(folder)
    if "cardshop-writer" not in found:
        pytest.fail(f"no cardshop .debs in {folder}: run `make deb` (tmt's prepare step does)")
    return found


@pytest.fixture(scope="session")
def base(debs):
    why = machine.can_boot()
    if why:
        pytest.skip(f"cannot boot a container here: {why}")
    return machine.ensure_base(debs.values())


@pytest.fixture
def boot(base, request):
    """boot(name, binds=...) -> a booted Machine, powered off and removed after the test."""
    made = []

    def start(name, **kwargs):
        made.append(machine.Machine(f"{name}-{os.getpid()}", **kwargs))
        return made[-1].boot()

    yield start
    for item in made:
        item.close()


@pytest.fixture(scope="module")
def state():
    """What one test of a module leaves for the next (ids, times), as the tests run in order."""
    return {}


@pytest.fixture(scope="module")
def readers(request):
    """Loop devices as card readers (the module's READERS of them, default 2); their cards out at the end."""
    devices = cards.take_readers(getattr(request.module, "READERS", 2))
    yield devices
    for device in devices:
        cards.remove(device)
