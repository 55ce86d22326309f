"""The warehouse against the real scheduler: logins, permissions, traversal, resume, disk space."""

import ftplib
import hashlib
import os
import subprocess
import time

import jwt
import pytest

from cardshop.store import new_id
from cardshop.client.warehouse import WarehouseClient, WarehouseError, WarehouseFull, WarehouseTooSmall, space_refusal
from devstack.servers import Warehouse


@pytest.fixture(scope="module")
def warehouse_server(tmp_path_factory, scheduler):
    server = Warehouse(str(tmp_path_factory.mktemp("warehouse")), scheduler.url)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def creator_with_task(make_user, db):
    """A creator holding a live create task (as the monitor records a claim)."""
    user = make_user("creator")
    task_id = new_id()
    db.tasks.insert_one({"_id": task_id, "order": new_id(), "kind": "create", "status": "building",
                         "worker": user.username, "statuses": []})
    return user, task_id


def login(server, username, token):
    ftp = ftplib.FTP(timeout=10)
    ftp.connect("127.0.0.1", server.port)
    ftp.login(username, token)
    return ftp


def test_bad_tokens_get_530(warehouse_server, make_user, scheduler):
    user, other = make_user("writer"), make_user("writer")
    with open(f"{scheduler.secrets}/jwt.key") as handle:
        key = handle.read().strip()
    claims = jwt.decode(user.access, options={"verify_signature": False})
    expired = jwt.encode({**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600}, key,
                         algorithm="HS256")
    for username, token in ((user.username, "not a token"), (user.username, other.access),
                            (user.username, expired), (user.username, user.refresh)):
        with pytest.raises(ftplib.error_perm, match="^530"):
            login(warehouse_server, username, token)
    login(warehouse_server, user.username, user.access).quit()


def test_managers_cannot_log_in(warehouse_server, make_user):
    manager = make_user("manager")
    with pytest.raises(ftplib.error_perm, match="^530"):
        login(warehouse_server, manager.username, manager.access)


def test_a_creator_uploads_only_into_its_tasks_folder_and_resumes(warehouse_server, creator_with_task, tmp_path, db):
    user, task_id = creator_with_task
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "image.img.zst"
    source.write_bytes(data)
    # An interrupted upload: the first MiB is there already as .part.
    folder = os.path.join(warehouse_server.root, task_id)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "image.img.zst.part"), "wb") as handle:
        handle.write(data[:1024 * 1024])
    seen = []
    with WarehouseClient(warehouse_server.url, user.username, user.access) as client:
        remote = client.upload(str(source), task_id, progress=lambda done, total: seen.append(done))
    assert remote == f"/{task_id}/image.img.zst"
    assert seen[0] > 1024 * 1024, "the upload resumed instead of starting over"
    with open(os.path.join(folder, "image.img.zst"), "rb") as handle:
        assert hashlib.sha256(handle.read()).digest() == hashlib.sha256(data).digest()
    assert not os.path.exists(os.path.join(folder, "image.img.zst.part"))
    # Another task's folder is off limits.
    other_task = new_id()
    with WarehouseClient(warehouse_server.url, user.username, user.access) as client:
        with pytest.raises(WarehouseError, match="550"):
            client.upload(str(source), other_task)


def test_a_writer_reads_and_resumes_but_cannot_upload(warehouse_server, creator_with_task, make_user, tmp_path):
    creator, task_id = creator_with_task
    data = os.urandom(2 * 1024 * 1024 + 5)
    source = tmp_path / "x.img.zst"
    source.write_bytes(data)
    with WarehouseClient(warehouse_server.url, creator.username, creator.access) as client:
        client.upload(str(source), task_id)
    writer = make_user("writer")
    target = tmp_path / "copy.img.zst"
    (tmp_path / "copy.img.zst.part").write_bytes(data[:700000])
    with WarehouseClient(warehouse_server.url, writer.username, writer.access) as client:
        client.download(f"{task_id}/x.img.zst", str(target))
        with pytest.raises(WarehouseError, match="550"):
            client.upload(str(source), task_id, name="evil.img.zst")
    assert target.read_bytes() == data


def test_a_reader_sizes_and_reads_small_files_and_a_file_past_the_limit_is_refused(
        warehouse_server, creator_with_task, make_user, tmp_path):
    creator, task_id = creator_with_task
    source = tmp_path / "x.sha256"
    source.write_bytes(b"0" * 64 + b"  x.img\n")
    with WarehouseClient(warehouse_server.url, creator.username, creator.access) as client:
        client.upload(str(source), task_id)
    writer = make_user("writer")
    with WarehouseClient(warehouse_server.url, writer.username, writer.access) as client:
        assert client.size_of(f"/{task_id}/x.sha256") == 72 and client.size_of(f"{task_id}/none") is None
        assert client.read(f"/{task_id}/x.sha256", 72) == source.read_bytes()
    with WarehouseClient(warehouse_server.url, writer.username, writer.access) as client:
        with pytest.raises(WarehouseError, match="larger than 71 bytes"):
            client.read(f"/{task_id}/x.sha256", 71)


def test_nobody_leaves_the_root(warehouse_server, make_user, tmp_path):
    outside = tmp_path / "secret.txt"
    outside.write_text("not for you")
    link = os.path.join(warehouse_server.root, "escape")
    if not os.path.lexists(link):
        os.symlink(str(tmp_path), link)
    writer = make_user("writer")
    ftp = login(warehouse_server, writer.username, writer.access)
    for path in ("../secret.txt", "/../../etc/passwd", str(outside), "escape/secret.txt", "/escape/secret.txt"):
        with pytest.raises(ftplib.error_perm, match="^550"):
            ftp.retrbinary(f"RETR {path}", lambda block: None)
    with pytest.raises(ftplib.error_perm, match="^550"):
        ftp.cwd("escape")
    ftp.cwd("/../../..")
    assert ftp.pwd() == "/"
    ftp.quit()


def test_an_upload_that_cannot_fit_now_is_refused_before_data_flows_with_the_numbers(warehouse_server,
                                                                                     creator_with_task):
    user, task_id = creator_with_task
    ftp = login(warehouse_server, user.username, user.access)
    stats = os.statvfs(warehouse_server.root)
    free = stats.f_bavail * stats.f_frsize
    with pytest.raises(ftplib.error_temp, match="^452") as caught:  # room comes back: try later
        ftp.sendcmd(f"ALLO {free + 2**30}")
    refusal = space_refusal(str(caught.value))
    assert isinstance(refusal, WarehouseFull) and refusal.needed == free + 2**30
    assert abs(refusal.free - free) < 2**30, "the free space the warehouse saw"
    disk = stats.f_blocks * stats.f_frsize
    with pytest.raises(ftplib.error_perm, match="^552") as caught:  # never fits
        ftp.sendcmd(f"ALLO {disk + 1}")
    assert isinstance(space_refusal(str(caught.value)), WarehouseTooSmall)
    assert ftp.sendcmd("ALLO 1024").startswith("200")
    ftp.quit()


def self_signed(folder):
    """A certificate for 127.0.0.1 and its key, as the warehouse's tls section names them."""
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return {"cert_file": str(cert), "key_file": str(key)}


def test_ftps_requires_tls_on_control_and_data(tmp_path, scheduler, creator_with_task):
    tls = self_signed(tmp_path)
    cert = tls["cert_file"]
    server = Warehouse(str(tmp_path), scheduler.url, tls=tls)
    server.start()
    try:
        user, task_id = creator_with_task
        with pytest.raises(ftplib.error_perm):
            login(server, user.username, user.access)  # plain FTP is refused
        source = tmp_path / "tls.img.zst"
        source.write_bytes(os.urandom(100000))
        with WarehouseClient(server.url, user.username, user.access, ca_file=cert) as client:
            client.upload(str(source), task_id)
            client.download(f"{task_id}/tls.img.zst", str(tmp_path / "back"))
        assert (tmp_path / "back").read_bytes() == source.read_bytes()
    finally:
        server.stop()
