"""An installed 0.1's database in FerretDB 1.24's SQLite files, and the server it migrates into.

`old_folder` is written by the real FerretDB 1.24 through the store's own
helpers (and a few raw inserts for every BSON type FerretDB 1.24 keeps), then
FerretDB is stopped. `reference` is what FerretDB 1.24 returns when it serves
a copy of those files again: the documents a faithful migration must give.
`target` is the new database server; change `target_server` to move these
tests to another engine.
"""

import datetime
import hashlib
import os
import shutil
import subprocess
import sys
import uuid

import bson
import pymongo
import pytest
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

from cardshop.states import ORDER
from cardshop.store import commits, orders, task_logs, tasks, users, workers
from cardshop.store.db import ensure_indexes
from devstack.servers import REPO, OldFerretDB
from tests.conftest import order_body

DATABASE = "cardshop"
RAW = CodecOptions(document_class=RawBSONDocument)
START = datetime.datetime(2025, 3, 1, 8, 30, 15, 123000, tzinfo=datetime.timezone.utc)
ORDERS = 120


def write_dataset(db):
    """A shop's history: users, orders with their tasks, commits, workers, log lines, and every stored type."""
    ensure_indexes(db)
    for number, role in enumerate(["admin", "manager", "creator", "writer"]):
        users.insert(db, {"_id": f"user{number}", "username": f"{role}{number}", "email": f"{role}@example.org",
                          "password_hash": "$2b$12$" + "x" * 53, "role": role, "active": number != 3,
                          "created_at": START, "updated_at": START, "sessions_revoked_before": None})
    for number in range(ORDERS):
        moment = START + datetime.timedelta(minutes=number, milliseconds=number * 7)
        body = order_body(quantity=1 + number % 3)
        order, create = orders.record_order(db, {**body, "warehouse": "main"}, "manager1", moment)
        commits.claim(db, f"orders/{order['_id']}/1", {"status": ORDER.initial})
        for copy in range(number % 3):
            write = tasks.new_task(order["_id"], "write", "system", moment, copy=copy, writer=None)
            tasks.insert(db, write)
            task_logs.insert(db, write["_id"], 1, copy, "info", f"card {copy} of order {number}: écrite ✓", moment)
        workers.file_heartbeat(db, f"writer3@host{number % 4}", {"online": number % 2 == 0, "last_seen": moment,
                                                                 "slots": [1, 2, number % 5], "load": number / 7},
                               moment)
    db.recipes.insert_one({"_id": "empty-recipe", "files": [], "output": {}})
    db.recipes.delete_one({"_id": "empty-recipe"})  # an empty collection still migrates
    db.tasks.insert_many([typed_task(number) for number in range(12)])


def typed_task(number):
    """A task document holding every BSON type FerretDB 1.24 stores, and the edges of their ranges."""
    return {
        "_id": bson.ObjectId(), "order": f"typed{number}", "kind": "write", "status": "writing",
        "attempt": number, "int32_edges": [2 ** 31 - 1, -(2 ** 31)], "bytes_written": bson.Int64(number),
        "size": 64 * 2 ** 30 + number, "progress": number / 3, "whole_double": 2.0, "tiny": 5e-324, "huge": 1.7e308,
        "ok": number % 2 == 0, "worker": None, "grant": hashlib.sha256(str(number).encode()).digest(),
        "card_uuid": bson.Binary(uuid.UUID(int=number).bytes, 4), "md5": bson.Binary(b"\x01" * 16, 5),
        "empty_binary": b"", "attempt_id": bson.ObjectId(),
        "deadline": START + datetime.timedelta(days=number, milliseconds=999),
        "before_epoch": datetime.datetime(1969, 12, 31, 23, 59, 59, 1000, tzinfo=datetime.timezone.utc),
        "name_filter": bson.Regex("^card-[0-9]+$", "im"), "op_time": bson.Timestamp(1_700_000_000 + number, number),
        "note": "quote \" backslash \\ tab \t nul-free ünïcödé 🃏 <&>", "empty": {}, "none_yet": [],
        "cards": [{"slot": slot, "at": START, "read_back": {"ok": True, "mismatches": bson.Int64(0)}}
                  for slot in range(number % 4)],
        "mixed": [1, bson.Int64(2), 3.5, "four", None, True, START, {"six": [6]}],
    }


def files_state(folder):
    """name -> (size, sha256, mtime_ns) of every file in `folder`."""
    found = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path, "rb") as handle:
            found[name] = (os.path.getsize(path), hashlib.sha256(handle.read()).hexdigest(),
                           os.stat(path).st_mtime_ns)
    return found


def read_all(db):
    """{collection: {encoded _id: raw BSON}} and {collection: index_information()} of a database."""
    documents, indexes = {}, {}
    for name in db.list_collection_names():
        collection = db.get_collection(name, codec_options=RAW)
        documents[name] = {bson.encode({"_id": doc["_id"]}): doc.raw for doc in collection.find()}
        indexes[name] = db[name].index_information()
    return documents, indexes


@pytest.fixture(scope="session")
def old_folder(tmp_path_factory):
    """FerretDB 1.24's --sqlite-url folder of a 0.1 install with orders, FerretDB stopped."""
    server = OldFerretDB(str(tmp_path_factory.mktemp("old")))
    server.start()
    try:
        client = pymongo.MongoClient(server.url, tz_aware=True)
        write_dataset(client[DATABASE])
        client.close()
    finally:
        server.stop()
    return os.path.join(server.dir, "data")


@pytest.fixture(scope="session")
def reference(old_folder, tmp_path_factory):
    """What FerretDB 1.24 itself returns from a copy of the old files: (documents, indexes) as read_all gives."""
    base = str(tmp_path_factory.mktemp("reference"))
    server = OldFerretDB(base)
    shutil.copytree(old_folder, os.path.join(server.dir, "data"))
    server.start()
    try:
        client = pymongo.MongoClient(server.url, tz_aware=True)
        yield read_all(client[DATABASE])
        client.close()
    finally:
        server.stop()


class RunningServer:
    def __init__(self, url):
        self.url = url


@pytest.fixture(scope="session")
def target_server(ferretdb):
    """The server the migration writes into: the new engine (FerretDB 2 on PostgreSQL with DocumentDB).

    CARDSHOP_MIGRATION_TARGET=mongodb://… names a running server instead (its database `cardshop` is dropped).
    """
    if os.environ.get("CARDSHOP_MIGRATION_TARGET"):
        return RunningServer(os.environ["CARDSHOP_MIGRATION_TARGET"])
    return ferretdb


class Target:
    def __init__(self, server, folder):
        self.url = server.url
        self.client = pymongo.MongoClient(server.url, tz_aware=True)
        self.db = self.client[DATABASE]
        self.uri_file = os.path.join(folder, "database.uri")
        fd = os.open(self.uri_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(server.url + "\n")


@pytest.fixture
def target(target_server, tmp_path):
    """The target server with an empty `cardshop` database, and a URI file naming it."""
    found = Target(target_server, str(tmp_path))
    found.client.drop_database(DATABASE)
    yield found
    found.client.close()


@pytest.fixture
def admin_command():
    """`admin_command(*args)`: run `cardshop-admin` as an operator does; the CompletedProcess."""
    def run(*args):
        return subprocess.run([sys.executable, os.path.join(REPO, "daemons", "cardshop-admin"), *args],
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    return run


@pytest.fixture
def migrate_into(admin_command, old_folder):
    """`migrate_into(target, *more)`: `cardshop-admin migrate-database` from the old folder into `target`."""
    def run(target, *more, folder=old_folder):
        return admin_command("migrate-database", "--from", folder, "--to-uri-file", target.uri_file, *more)
    return run
