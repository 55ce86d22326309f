"""A real cardshop-manager process on loopback, talking to the session's real scheduler."""

import pytest

from devstack.manager import Manager


@pytest.fixture(scope="session")
def manager(stack_dir, scheduler):
    server = Manager(stack_dir, scheduler.url)
    server.start()
    yield server
    server.stop()
