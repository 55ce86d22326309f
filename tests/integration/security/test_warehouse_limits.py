"""Threats: a creator account uses more of the warehouse than it was granted; idle connections hold it shut.

The real warehouse daemon (pyftpdlib) asking the real scheduler: an upload
beyond its ALLO, an upload eating the disk reserve (on a small tmpfs of its
own, so other processes' disk use does not matter), a session that keeps
writing after its user was disabled or its task ended; and connections that
never log in, from several loopback addresses (127.0.0.x as distinct
clients), with the warehouse's default limits.
"""

import ftplib
import io
import os
import selectors
import socket
import ssl
import threading
import time

import pytest

from devstack.processes import wait_until
from devstack.servers import Warehouse
from tests.integration.warehouse.test_warehouse import creator_with_task, warehouse_server  # noqa: F401 (fixtures)
from tests.integration.warehouse.test_warehouse import login as ftp_login, self_signed

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


def idle_connection(server, address):
    """A control connection from `address` that never logs in (its replies are left unread)."""
    return socket.create_connection(("127.0.0.1", server.port), timeout=5, source_address=(address, 0))


def hung_up(sock):
    """Whether the warehouse has closed this connection (what it sent is read and dropped)."""
    sock.setblocking(False)
    try:
        while True:
            if not sock.recv(4096):
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


class IdleFlood:
    """`count` control connections from `addresses` that never log in, held open: what the warehouse
    closes is opened again, at most `reopen_per_second`, as an attacker would."""

    def __init__(self, server, addresses, count, reopen_per_second=50):
        self.server, self.addresses, self.count, self.rate = server, addresses, count, reopen_per_second
        self.opened = 0
        self._selector = selectors.DefaultSelector()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._hold, name="idle flood", daemon=True)

    def __enter__(self):
        for number in range(self.count):
            self._open(self.addresses[number % len(self.addresses)])
        self._thread.start()
        return self

    def __exit__(self, *exc_info):
        self._stop.set()
        self._thread.join(10)
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()
        self._selector.close()

    def _open(self, address):
        try:
            sock = idle_connection(self.server, address)
        except OSError:  # refused or timed out: opened again later
            return
        sock.setblocking(False)
        self._selector.register(sock, selectors.EVENT_READ, address)
        self.opened += 1

    def _hold(self):
        closed, next_reopen = [], time.monotonic()
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.1):
                if hung_up(key.fileobj):
                    self._selector.unregister(key.fileobj)
                    key.fileobj.close()
                    closed.append(key.data)
            if time.monotonic() >= next_reopen:
                next_reopen += 0.1
                for address in closed[:self.rate // 10]:
                    self._open(address)
                del closed[:self.rate // 10]


def test_workers_log_in_and_transfer_while_300_idle_connections_are_held_from_many_addresses(
        warehouse_server, creator_with_task, make_user):
    user, task_id = creator_with_task
    writer = make_user("writer")
    addresses = [f"127.0.0.{number}" for number in range(10, 40)]
    with IdleFlood(warehouse_server, addresses, 300) as flood:
        time.sleep(1)  # what the warehouse closes, the flood opens again
        started = time.monotonic()
        ftp = login(warehouse_server, user)
        ftp.mkd(task_id)
        assert stor(ftp, f"{task_id}/image.img.zst", 100_000).startswith("226")
        assert [name.rsplit("/", 1)[-1] for name in ftp.nlst(task_id)] == ["image.img.zst"]
        ftp.quit()
        reader = login(warehouse_server, writer)
        received = []
        reader.retrbinary(f"RETR {task_id}/image.img.zst", received.append)
        reader.quit()
        took = time.monotonic() - started
        assert flood.opened >= 300
    assert sum(map(len, received)) == 100_000
    assert took < 5, f"the logins and transfers took {took:.1f} s under the flood"


def test_a_connection_that_never_logs_in_is_closed_after_the_login_timeout_even_if_it_talks(
        warehouse_server, creator_with_task):
    user, _ = creator_with_task
    session = login(warehouse_server, user)
    idle = ftplib.FTP(timeout=5, source_address=("127.0.0.60", 0))
    idle.connect("127.0.0.1", warehouse_server.port)
    connected = time.monotonic()
    with pytest.raises(ftplib.error_temp, match="^421") as goodbye:
        while time.monotonic() - connected < 16:  # the default login_timeout is 10 s
            idle.voidcmd("NOOP")  # commands do not extend the time to log in
            time.sleep(1)
    closed_after = time.monotonic() - connected
    idle.close()
    assert 8 < closed_after < 14, f"closed {closed_after:.1f} s after connecting: {goodbye.value}"
    assert session.voidcmd("NOOP").startswith("200"), "a logged-in session keeps the idle timeout"
    session.quit()


def test_one_address_cannot_take_more_than_its_share_of_connections_waiting_to_log_in(
        warehouse_server, creator_with_task):
    user, task_id = creator_with_task
    others = [idle_connection(warehouse_server, "127.0.0.71") for _ in range(3)]
    greedy = [idle_connection(warehouse_server, "127.0.0.70") for _ in range(40)]
    time.sleep(1)
    still_open = [sock for sock in greedy if not hung_up(sock)]
    assert 0 < len(still_open) <= 8, f"{len(still_open)} of 40 connections from one address still wait"
    assert still_open[-1] is greedy[-1], "the newest connections are the ones kept"
    assert not [sock for sock in others if hung_up(sock)], "another address's connections were closed"
    # A worker behind that same address still gets in.
    ftp = ftplib.FTP(timeout=10, source_address=("127.0.0.70", 0))
    ftp.connect("127.0.0.1", warehouse_server.port)
    ftp.login(user.username, user.access)
    ftp.mkd(task_id)
    ftp.quit()
    for sock in others + greedy:
        sock.close()


def answers(ftp):
    """Whether the control connection is still open (NOOP does not extend the time to log in)."""
    try:
        return ftp.voidcmd("NOOP").startswith("200")
    except (EOFError, OSError, ftplib.Error):
        return False


def test_tls_connections_that_do_not_log_in_are_closed_beyond_their_share_too(tmp_path, scheduler,
                                                                            creator_with_task):
    tls = self_signed(tmp_path)
    server = Warehouse(str(tmp_path), scheduler.url, tls=tls)
    server.start()
    context = ssl.create_default_context(cafile=tls["cert_file"])

    def tls_connection():
        ftp = ftplib.FTP_TLS(context=context, timeout=10, source_address=("127.0.0.80", 0))
        ftp.connect("127.0.0.1", server.port)
        ftp.auth()
        return ftp

    try:
        waiting = [tls_connection() for _ in range(12)]
        time.sleep(1)
        still_open = [ftp for ftp in waiting if answers(ftp)]
        assert still_open == waiting[-8:], f"{len(still_open)} of 12 TLS connections from one address still wait"
        user, task_id = creator_with_task
        ftp = tls_connection()
        ftp.login(user.username, user.access)
        ftp.prot_p()
        ftp.mkd(task_id)
        assert ftp.nlst() == [task_id]
        ftp.quit()
        for ftp in waiting:
            ftp.close()
    finally:
        server.stop()
    with open(server.process.log_path) as log:
        assert "Traceback" not in log.read()
