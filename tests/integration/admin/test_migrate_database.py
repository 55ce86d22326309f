"""`cardshop-admin migrate-database` from the real FerretDB 1.24's SQLite files into a real target server."""

import json
import os
import shutil

import pymongo
import pymongo.errors
import pytest

from cardshop.admin import main
from cardshop.admin.migrate import MARKER_COLLECTION, MARKER_ID
from cardshop.store import commits, users
from devstack.processes import Process, free_port, wait_for_port
from devstack.servers import OLD_FERRETDB_VERSION, OldFerretDB, ferretdb_binary
from tests.integration.admin.conftest import DATABASE, files_state, read_all

pytestmark = pytest.mark.integration


def test_every_document_arrives_exactly_as_ferretdb_124_reads_it(target, migrate_into, reference):
    done = migrate_into(target)
    assert done.returncode == main.EX_OK, done.stdout + done.stderr
    documents, _ = read_all(target.db)
    expected, _ = reference
    assert set(documents) == set(expected) | {MARKER_COLLECTION}
    for name, by_id in expected.items():
        assert documents[name] == by_id, name  # the same BSON bytes: types, field order, milliseconds
    assert sum(map(len, expected.values())) > 500
    assert documents["recipes"] == {}


def test_the_indexes_arrive_and_unique_ones_still_refuse_duplicates(target, migrate_into, reference):
    assert migrate_into(target).returncode == main.EX_OK
    _, indexes = read_all(target.db)
    for name, expected in reference[1].items():
        assert {index: (spec["key"], bool(spec.get("unique"))) for index, spec in indexes[name].items()} == \
            {index: (spec["key"], bool(spec.get("unique"))) for index, spec in expected.items()}, name
    taken = target.db.users.find_one({"role": "admin"})
    with pytest.raises(users.UserTaken):
        users.insert(target.db, {**taken, "_id": "someone-else", "username": "another"})
    order = target.db.orders.find_one()
    assert not commits.claim(target.db, f"orders/{order['_id']}/1")


def test_each_collection_gets_a_line_and_the_old_files_are_named(target, migrate_into, old_folder, reference):
    done = migrate_into(target)
    lines = done.stdout.splitlines()
    for name, by_id in reference[0].items():
        assert any(line.startswith(f"{name}: {len(by_id)} documents,") and line.endswith(": ok") for line in lines)
    assert os.path.join(old_folder, "cardshop.sqlite") in done.stdout
    assert "Delete them once" in done.stdout


def test_the_json_report_gives_counts_and_checksums_per_collection(target, migrate_into, reference):
    done = migrate_into(target, "--json")
    assert done.returncode == main.EX_OK, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["exit_code"] == 0
    by_name = {collection["name"]: collection for collection in report["collections"]}
    assert set(by_name) == set(reference[0])
    for name, collection in by_name.items():
        assert collection["documents"] == collection["target_documents"] == len(reference[0][name])
        assert collection["sha256"] == collection["target_sha256"]
        assert collection["ok"] and not collection["missing_indexes"]


def test_the_old_files_are_byte_for_byte_as_they_were(target, migrate_into, old_folder):
    before = files_state(old_folder)
    assert migrate_into(target).returncode == main.EX_OK
    assert files_state(old_folder) == before  # no byte, no mtime, no -wal or -shm beside them


def test_a_second_run_is_refused_and_changes_nothing(target, migrate_into):
    assert migrate_into(target).returncode == main.EX_OK
    before = read_all(target.db)
    again = migrate_into(target)
    assert again.returncode == main.EX_REFUSED
    assert "already migrated" in again.stderr and "Traceback" not in again.stderr
    assert read_all(target.db) == before
    assert migrate_into(target, "--restart").returncode == main.EX_REFUSED  # done is done


def test_an_attempt_stopped_half_way_is_refused_until_restarted(target, migrate_into, reference):
    target.db[MARKER_COLLECTION].insert_one({"_id": MARKER_ID, "state": "copying", "collections": ["orders", "tasks"]})
    target.db.orders.insert_one({"_id": "half", "status": "created"})
    refused = migrate_into(target)
    assert refused.returncode == main.EX_REFUSED
    assert "--restart" in refused.stderr
    done = migrate_into(target, "--restart")
    assert done.returncode == main.EX_OK, done.stderr
    assert read_all(target.db)[0]["orders"] == reference[0]["orders"]
    assert target.db[MARKER_COLLECTION].find_one({"_id": MARKER_ID})["state"] == "done"


def test_a_target_that_already_holds_collections_is_refused(target, migrate_into):
    target.db.orders.insert_one({"_id": "made-by-a-daemon"})
    refused = migrate_into(target)
    assert refused.returncode == main.EX_REFUSED
    assert "already holds orders" in refused.stderr
    assert target.db.list_collection_names() == ["orders"]


def test_an_unreachable_target_is_one_line_and_its_own_exit_code(admin_command, old_folder, tmp_path):
    uri_file = tmp_path / "uri"
    uri_file.write_text("mongodb://127.0.0.1:9/\n")
    uri_file.chmod(0o600)
    done = admin_command("migrate-database", "--from", old_folder, "--to-uri-file", str(uri_file))
    assert done.returncode == main.EX_UNREACHABLE
    assert done.stderr.strip().splitlines()[-1].startswith("cardshop-admin: 127.0.0.1:9 cannot be reached")
    assert "Traceback" not in done.stderr


def test_a_running_old_ferretdb_is_refused_unless_forced(target, migrate_into, old_folder, tmp_path):
    server = OldFerretDB(str(tmp_path))
    shutil.copytree(old_folder, os.path.join(server.dir, "data"))
    server.start()
    try:
        refused = migrate_into(target, folder=os.path.join(server.dir, "data"))
        assert refused.returncode == main.EX_RUNNING, refused.stderr
        assert f"process {server.process.pid} (ferretdb)" in refused.stderr
        assert target.db.list_collection_names() == []
    finally:
        server.stop()


def test_a_write_ahead_log_left_by_a_killed_ferretdb_is_read_from_a_private_copy(target, migrate_into, old_folder,
                                                                                  tmp_path):
    server = OldFerretDB(str(tmp_path))
    folder = os.path.join(server.dir, "data")
    shutil.copytree(old_folder, folder)
    server.start()
    client = pymongo.MongoClient(server.url, tz_aware=True)
    client[DATABASE].orders.insert_one({"_id": "last-order", "status": "created"})
    client.close()
    server.process.kill9()
    assert os.path.getsize(os.path.join(folder, "cardshop.sqlite-wal")) > 0
    before = files_state(folder)
    done = migrate_into(target, folder=folder)
    assert done.returncode == main.EX_OK, done.stderr
    assert "write-ahead log" in done.stderr
    assert target.db.orders.find_one({"_id": "last-order"}) == {"_id": "last-order", "status": "created"}
    assert files_state(folder) == before
    os.unlink(server.process.pid_path)


@pytest.fixture(scope="module")
def password_server(tmp_path_factory):
    """A FerretDB 1.24 that requires a password (its new authentication): the URL without credentials."""
    folder = str(tmp_path_factory.mktemp("password"))
    os.makedirs(os.path.join(folder, "data"))
    port = free_port()
    process = Process("ferretdb", folder)
    process.start([ferretdb_binary(OLD_FERRETDB_VERSION), f"--listen-addr=127.0.0.1:{port}", "--handler=sqlite",
                   f"--sqlite-url=file:{folder}/data/", f"--state-dir={folder}", "--telemetry=disable",
                   "--log-level=warn", "--debug-addr=-", "--test-enable-new-auth", f"--setup-database={DATABASE}",
                   "--setup-username=cardshop", "--setup-password=right"])
    try:
        wait_for_port(port, 30, process.popen, "FerretDB", process.log_path)
        yield f"127.0.0.1:{port}"
    finally:
        process.stop()


@pytest.mark.parametrize("credentials,said", [("cardshop:wrong@", "authentication failed"), ("", "not authorised")])
def test_a_refused_password_is_one_line_and_its_own_exit_code(admin_command, old_folder, tmp_path, password_server,
                                                              credentials, said):
    uri_file = tmp_path / "uri"
    uri_file.write_text(f"mongodb://{credentials}{password_server}/{DATABASE}\n")
    uri_file.chmod(0o600)
    done = admin_command("migrate-database", "--from", old_folder, "--to-uri-file", str(uri_file))
    assert done.returncode == main.EX_AUTH
    assert done.stderr.strip().splitlines()[-1] == f"cardshop-admin: {password_server}: {said}: check the user and " \
                                                   "password of the target URI"
    assert "wrong" not in done.stderr and "Traceback" not in done.stderr


def test_the_target_comes_from_the_schedulers_config_by_default(target, admin_command, old_folder, tmp_path):
    config = tmp_path / "scheduler.yaml"
    config.write_text(f"database:\n  uri_file: {target.uri_file}\n  name: {DATABASE}\n")
    done = admin_command("migrate-database", "--from", old_folder, "--config", str(config), "--json")
    assert done.returncode == main.EX_OK, done.stderr
    assert json.loads(done.stdout)["database"] == DATABASE
    assert "orders" in target.db.list_collection_names()


def test_a_config_that_cannot_be_read_is_a_configuration_error(admin_command, old_folder, tmp_path):
    done = admin_command("migrate-database", "--from", old_folder, "--config", str(tmp_path / "none.yaml"))
    assert done.returncode == main.EX_CONFIG
    assert done.stderr.strip() == f"cardshop-admin: config file {tmp_path / 'none.yaml'} does not exist"


@pytest.fixture(scope="module")
def folder_the_target_refuses(tmp_path_factory):
    """Old files FerretDB 1.24 accepted but MongoDB's rules refuse: a unique index over two documents lacking the
    field (FerretDB 1.24's SQLite index let them both in, MongoDB counts both as null)."""
    server = OldFerretDB(str(tmp_path_factory.mktemp("refused")))
    server.start()
    try:
        client = pymongo.MongoClient(server.url)
        client[DATABASE].orders.insert_many([{"_id": f"order{number}"} for number in range(3)])
        client[DATABASE].users.create_index("email", unique=True)
        client[DATABASE].users.insert_many([{"_id": "a", "username": "a"}, {"_id": "b", "username": "b"}])
        client.close()
    finally:
        server.stop()
    return os.path.join(server.dir, "data")


def test_a_copy_stopped_by_the_target_is_marked_failed_and_needs_restart(target, migrate_into,
                                                                        folder_the_target_refuses):
    probe = target.client["migration_probe"].things
    probe.drop()
    probe.create_index("code", unique=True)
    try:
        probe.insert_many([{"_id": 1}, {"_id": 2}])
        pytest.skip("this target lets a unique index hold two documents without its field, as FerretDB 1.24 did")
    except pymongo.errors.BulkWriteError:
        pass
    finally:
        target.client.drop_database("migration_probe")
    done = migrate_into(target, folder=folder_the_target_refuses)
    assert done.returncode == main.EX_TARGET_FAILED, done.stderr
    assert "collection users: index email_1 cannot be created" in done.stderr.splitlines()[-1]
    marker = target.db[MARKER_COLLECTION].find_one({"_id": MARKER_ID})
    assert marker["state"] == "failed" and "email_1" in marker["error"]
    again = migrate_into(target, folder=folder_the_target_refuses)
    assert again.returncode == main.EX_REFUSED and "--restart" in again.stderr
