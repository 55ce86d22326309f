"""The warehouse client against a port where nothing listens, and the space refusals it reads."""

import pytest

from cardshop import faults
from cardshop.client.warehouse import (WarehouseClient, WarehouseError, WarehouseFull, WarehouseTooSmall, full_reply,
                                       space_refusal, too_small_reply)
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


def test_a_full_warehouse_reply_becomes_a_transient_warehouse_full_with_its_numbers():
    refusal = space_refusal(full_reply(734003200, 52428800, "Try later."))
    assert isinstance(refusal, WarehouseFull) and (refusal.needed, refusal.free) == (734003200, 52428800)
    assert str(refusal) == "warehouse full: 734003200 bytes needed, 52428800 free"
    assert faults.is_transient(refusal)


def test_an_upload_larger_than_the_whole_warehouse_is_final_with_its_numbers():
    refusal = space_refusal(too_small_reply(10**12, 10**9))
    assert isinstance(refusal, WarehouseTooSmall) and (refusal.needed, refusal.capacity) == (10**12, 10**9)
    assert "1000000000000 bytes needed" in str(refusal) and not faults.is_transient(refusal)


@pytest.mark.parametrize("reply", ["452 Not enough space: 5 bytes asked, 0 available.",
                                   "552 Warehouse full: needed=5 free=0.", "452 Warehouse full: needed=five free=0.",
                                   "550 Warehouse full: needed=5 free=0.", ""])
def test_other_replies_are_not_read_as_space_refusals(reply):
    assert space_refusal(reply) is None
