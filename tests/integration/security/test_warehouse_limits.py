"""Threat: a creator account uses more of the warehouse than it was granted.

The real warehouse daemon (pyftpdlib) asking the real scheduler: an upload
beyond its ALLO, an upload eating the disk reserve (on a small tmpfs of its
own, so other processes' disk use does not matter), and a session that keeps
writing after its user was disabled or its task ended.
"""

import ftplib
import io
import os

import pytest

from devstack.processes import wait_until
from devstack.servers import Warehouse
from tests.integration.warehouse.test_warehouse import creator_with_task, warehouse_server  # noqa: F401 (fixtures)
from tests.integration.warehouse.test_warehouse import login as ftp_login

MiB = 1024 * 1024


def login(server, user):
    return ftp_login(server, user.username, user.access)


def stor(ftp, path, size):
    """Upload `size` bytes; the server's final reply (226 or the refusal)."""
    try:
        return ftp.storbinary(f"STOR {path}", io.BytesIO(bytes(size)), 64 * 1024)
    except ftplib.Error as exc:
        return str(exc)
    except OSError:  # the server hung up the data connection while we sent: its reply says why
        try:
            return ftp.getresp()
        except ftplib.Error as exc:
            return str(exc)


def test_an_upload_stops_at_its_allo_size(warehouse_server, creator_with_task):
    user, task_id = creator_with_task
    ftp = login(warehouse_server, user)
    ftp.mkd(task_id)
    assert ftp.sendcmd(f"ALLO {MiB}").startswith("200")
    reply = stor(ftp, f"{task_id}/big.img.zst", 16 * MiB)
    assert reply.startswith("552") and "ALLO" in reply, reply
    assert os.path.getsize(os.path.join(warehouse_server.root, task_id, "big.img.zst")) <= MiB
    # The ALLO covered one upload; the next one is bounded by the disk only.
    assert stor(ftp, f"{task_id}/small.bin", 1000).startswith("226")
    ftp.quit()


def test_an_upload_stops_at_the_disk_reserve_while_it_writes(small_disk, scheduler, creator_with_task, tmp_path):
    reserve = 16 * MiB
    disk = small_disk("32m")
    server = Warehouse(str(tmp_path), scheduler.url, reserve_bytes=reserve, root=os.path.join(disk, "root"))
    os.makedirs(server.dir)
    server.start()
    try:
        user, task_id = creator_with_task
        ftp = login(server, user)
        ftp.mkd(task_id)
        reply = stor(ftp, f"{task_id}/huge.img.zst", 30 * MiB)  # no ALLO: only the reserve bounds it
        assert reply.startswith("452") and "reserve" in reply, reply
        stats = os.statvfs(disk)
        assert stats.f_bavail * stats.f_frsize >= reserve - 2 * MiB, "the reserve was kept (to a check's step)"
        ftp.quit()
    finally:
        server.stop()


@pytest.mark.parametrize("revoke", ["disable the user", "end the task"])
def test_an_open_session_loses_write_rights_within_the_cache_window(warehouse_server, creator_with_task, admin, db,
                                                                   revoke):
    user, task_id = creator_with_task
    ftp = login(warehouse_server, user)
    ftp.mkd(task_id)
    assert stor(ftp, f"{task_id}/before.bin", 1000).startswith("226")
    if revoke == "disable the user":
        assert admin.patch(f"/users/{user.username}", {"active": False}).status == 200
    else:
        db.tasks.update_one({"_id": task_id}, {"$set": {"status": "done"}})
    attempts = iter(range(1000))
    refused = wait_until(lambda: (lambda reply: reply.startswith("550") and reply)(
        stor(ftp, f"{task_id}/after-{next(attempts)}.bin", 1000)), timeout=15, interval=0.5)
    assert "privileges" in refused
    ftp.retrbinary(f"RETR {task_id}/before.bin", lambda block: None)  # reading is still allowed
    ftp.quit()
