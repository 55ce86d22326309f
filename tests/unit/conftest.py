"""Unit tests need no server: the fixtures that start one fail here (move such a test to tests/integration)."""

import pytest


@pytest.fixture(scope="session")
def stack_dir():
    pytest.fail("a unit test asked for a server (FerretDB, the scheduler or RabbitMQ): it belongs in tests/integration")
