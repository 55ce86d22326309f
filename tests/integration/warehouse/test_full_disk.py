"""A full warehouse disk is a "try later" with its numbers, before and during an upload; freed, the upload ends.

The real warehouse daemon on a small tmpfs of its own (a disk that really
fills), the real client, a ballast file standing for other orders' images.
"""

import os

import pytest

from cardshop import faults
from cardshop.client.warehouse import WarehouseClient, WarehouseFull
from devstack.servers import Warehouse
from tests.integration.conftest import fill
from tests.integration.warehouse.test_warehouse import creator_with_task  # noqa: F401 (fixture)

pytestmark = pytest.mark.fault

MiB = 1024 * 1024


@pytest.fixture
def warehouse_on(small_disk, scheduler, tmp_path):
    """`warehouse_on(reserve)`: a running warehouse whose root is a 32 MiB tmpfs; (server, disk)."""
    started = []

    def start(reserve):
        disk = small_disk("32m")
        server = Warehouse(str(tmp_path / f"w{len(started)}"), scheduler.url, reserve_bytes=reserve,
                           root=os.path.join(disk, "root"))
        os.makedirs(server.dir)
        server.start()
        started.append(server)
        return server, disk
    yield start
    for server in started:
        server.stop()


def test_an_upload_to_a_full_warehouse_is_refused_with_its_numbers_then_succeeds_once_room_is_freed(
        warehouse_on, creator_with_task, tmp_path):
    user, task_id = creator_with_task
    server, disk = warehouse_on(reserve=2 * MiB)
    image = tmp_path / "image.img.zst"
    image.write_bytes(os.urandom(8 * MiB))
    ballast = fill(disk, leave=5 * MiB)
    with WarehouseClient(server.url, user.username, user.access) as client:
        with pytest.raises(WarehouseFull) as caught:
            client.upload(str(image), task_id)
    assert caught.value.needed == 8 * MiB and 2 * MiB <= caught.value.free <= 3 * MiB
    assert str(caught.value).startswith(f"warehouse full: {8 * MiB} bytes needed, ")
    assert faults.is_transient(caught.value)
    os.unlink(ballast)  # an ended order's folder goes
    with WarehouseClient(server.url, user.username, user.access) as client:
        remote = client.upload(str(image), task_id)
    with open(os.path.join(server.root, remote.lstrip("/")), "rb") as handle:
        assert handle.read() == image.read_bytes()


@pytest.mark.parametrize("reserve", [0, 4 * MiB], ids=["disk full", "reserve reached"])
def test_a_disk_that_fills_mid_upload_is_reported_full_with_its_numbers_and_the_upload_resumes_once_freed(
        warehouse_on, creator_with_task, tmp_path, reserve):
    user, task_id = creator_with_task
    server, disk = warehouse_on(reserve=reserve)
    data = os.urandom(20 * MiB)
    image = tmp_path / "image.img.zst"
    image.write_bytes(data)
    ballast = []

    def fill_once_data_flows(sent, total):
        if not ballast and sent >= 2 * MiB:
            ballast.append(fill(disk, leave=reserve + MiB))  # another upload takes the room meanwhile
    with WarehouseClient(server.url, user.username, user.access) as client:
        with pytest.raises(WarehouseFull) as caught:
            client.upload(str(image), task_id, progress=fill_once_data_flows)
    assert "connection reset" not in str(caught.value)
    part = os.path.getsize(os.path.join(server.root, task_id, "image.img.zst.part"))
    assert 0 < part < 20 * MiB, "what came before the disk filled stays, to resume from"
    assert caught.value.needed == 20 * MiB - part and caught.value.free <= MiB
    os.unlink(ballast[0])
    with WarehouseClient(server.url, user.username, user.access) as client:
        remote = client.upload(str(image), task_id)
    with open(os.path.join(server.root, remote.lstrip("/")), "rb") as handle:
        assert handle.read() == data
