"""The warehouse client against a port where nothing listens."""

import pytest

from cardshop import faults
from cardshop.client.warehouse import WarehouseClient, WarehouseError
from devstack.processes import free_port


def test_a_refused_connection_names_the_host_port_and_refusal_and_is_transient():
    port = free_port()
    with pytest.raises(WarehouseError) as caught:
        with WarehouseClient(f"ftp://127.0.0.1:{port}/", "creator", "token", timeout=2):
            pass
    assert f"127.0.0.1:{port}" in str(caught.value) and "Connection refused" in str(caught.value)
    assert faults.is_transient(caught.value) and faults.cause(caught.value) == "connection refused"


def test_close_is_clean_whatever_the_state_of_the_connection():
    client = WarehouseClient(f"ftp://127.0.0.1:{free_port()}/", "creator", "token", timeout=2)
    client.close()  # never connected
    with pytest.raises(WarehouseError):
        client.connect()
    client.close()  # connection refused, then closed twice
    assert client.ftp is None
