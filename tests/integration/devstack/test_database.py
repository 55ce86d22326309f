"""The local stack's PostgreSQL with DocumentDB, run from the database root with systemd-nspawn."""

import os
import socket
import stat
import time

import pytest

from devstack.database import PostgreSQL
from devstack.processes import StackError, wait_until


@pytest.fixture
def postgresql(tmp_path):
    server = PostgreSQL(str(tmp_path))
    yield server
    server.stop()


def documentdb_version(server):
    return server.psql("SELECT extversion FROM pg_extension WHERE extname = 'documentdb'").strip()


def test_a_new_cluster_starts_with_the_documentdb_extension_and_a_private_superuser_password(postgresql):
    started = time.monotonic()
    postgresql.start()
    print(f"cold start (initdb, extension): {time.monotonic() - started:.1f} s")
    assert documentdb_version(postgresql) == "0.107-0"
    assert stat.S_IMODE(os.stat(postgresql.password_path).st_mode) == 0o600
    settings = postgresql.psql("SELECT current_setting('listen_addresses'), current_setting('port'), "
                               "current_setting('shared_preload_libraries'), current_setting('password_encryption')")
    assert settings.strip() == f"127.0.0.1|{postgresql.port}|pg_cron,pg_documentdb_core,pg_documentdb|scram-sha-256"


def test_documents_survive_a_kill_9_and_the_next_start(postgresql):
    postgresql.start()
    postgresql.psql("""SELECT p_success FROM documentdb_api.insert('shop',
                       '{"insert": "orders", "documents": [{"_id": 1, "status": "created"}]}')""")
    postmaster = _children(postgresql.process.pid)  # PostgreSQL, PID 1 of nspawn's container

    postgresql.process.kill9()
    # Not only nspawn: its container goes too, with every PostgreSQL process in it.
    wait_until(lambda: not any(os.path.exists(f"/proc/{pid}") for pid in postmaster), timeout=10)
    assert postmaster and not _listening(postgresql.port)

    started = time.monotonic()
    postgresql.start()
    print(f"start after kill -9: {time.monotonic() - started:.1f} s")
    found = postgresql.psql("SELECT documentdb_core.bson_to_json_string(document) "
                            "FROM documentdb_api.collection('shop', 'orders')")
    assert '"status" : "created"' in found


def test_the_password_is_required_over_tcp(postgresql):
    postgresql.start()
    wrong = PostgreSQL(os.path.dirname(postgresql.dir), port=postgresql.port)
    wrong.pgpass_path = os.path.join(os.path.dirname(postgresql.dir), "wrong.pgpass")
    with open(wrong.pgpass_path, "w") as handle:
        handle.write("127.0.0.1:*:*:postgres:not-the-password\n")
    with pytest.raises(StackError, match="password authentication failed"):
        wrong.psql("SELECT 1")


def test_documentdb_connects_back_to_itself_without_a_password_to_explain_an_index_scan(postgresql):
    # DocumentDB looks up index names for EXPLAIN (also builds indexes, compacts) over a libpq
    # connection to its own server as the user it serves, with no password: TCP refuses that, the
    # container's own socket takes it.
    postgresql.start()
    postgresql.psql("""SELECT documentdb_api.create_indexes_background('shop',
                       '{"createIndexes": "orders", "indexes": [{"key": {"status": 1}, "name": "status_1"}]}')""")
    plan = postgresql.psql("""SET enable_seqscan = off;
                              EXPLAIN SELECT document FROM documentdb_api_catalog.bson_aggregation_find('shop',
                              '{"find": "orders", "filter": {"status": "shipped"}}')""")
    assert "Index Scan on status_1" in plan, plan


def test_a_missing_root_says_to_run_make_deps(tmp_path):
    server = PostgreSQL(str(tmp_path), root=str(tmp_path / "no-root"))
    with pytest.raises(StackError, match="run `make deps`"):
        server.start()


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return [int(child) for child in handle.read().split()]


def _listening(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
