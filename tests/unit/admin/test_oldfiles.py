"""Reading a FerretDB 1.24 folder: its collections, indexes and rows, each way it can be wrong, nothing written."""

import io
import json
import os
import sqlite3

import pytest

from cardshop.admin import main
from cardshop.admin.oldfiles import NotFerretDB, OldFiles, SourceDataError, SourceMissing
from tests.integration.admin.conftest import files_state

ROW = '{"$s":{"p":{"_id":{"t":"string"},"n":{"t":"int"}},"$k":["_id","n"]},"_id":"%s","n":%d}'


def ferretdb_folder(folder, rows=3, bad_row=False):
    """A folder laid out as FerretDB 1.24 writes it: a plain and a capped collection, one unique index."""
    os.makedirs(folder, exist_ok=True)
    connection = sqlite3.connect(os.path.join(folder, "cardshop.sqlite"))
    connection.execute("PRAGMA journal_mode=wal")
    connection.execute('CREATE TABLE "_ferretdb_collections" (name TEXT NOT NULL UNIQUE, '
                       'table_name TEXT NOT NULL UNIQUE, settings TEXT NOT NULL) STRICT')
    id_index = {"name": "_id_", "key": [{"field": "_id", "descending": False}], "unique": True}
    settings = {"orders": {"indexes": [id_index, {"name": "status_1_created_at_-1", "unique": False, "key": [
        {"field": "status", "descending": False}, {"field": "created_at", "descending": True}]},
        {"name": "email_1", "key": [{"field": "email"}], "unique": True}], "cappedSize": 0, "cappedDocuments": 0},
        "events": {"indexes": [id_index], "cappedSize": 4096, "cappedDocuments": 10}}
    connection.execute('CREATE TABLE "orders_1" (_ferretdb_sjson TEXT NOT NULL) STRICT')
    connection.execute('CREATE TABLE "events_2" (_ferretdb_record_id INTEGER PRIMARY KEY, '
                       '_ferretdb_sjson TEXT NOT NULL) STRICT')
    for name, table in (("orders", "orders_1"), ("events", "events_2")):
        connection.execute('INSERT INTO "_ferretdb_collections" VALUES (?, ?, ?)',
                           (name, table, json.dumps(settings[name])))
    for number in range(rows):
        connection.execute('INSERT INTO "orders_1" VALUES (?)', (ROW % (f"o{number}", number),))
    for record, number in ((30, 0), (10, 1), (20, 2)):  # capped: the record id is the order
        connection.execute('INSERT INTO "events_2" VALUES (?, ?)', (record, ROW % (f"e{number}", number)))
    if bad_row:
        connection.execute('INSERT INTO "orders_1" VALUES (?)', ('{"$s":{"p":{"_id":{"t":"string"},"x":{"t":'
                                                                 '"decimal"}},"$k":["_id","x"]},"_id":"odd","x":"1"}',))
    connection.commit()
    connection.close()
    return folder


def test_collections_come_with_their_indexes_and_capped_settings(tmp_path):
    with OldFiles(ferretdb_folder(str(tmp_path)), "cardshop") as old:
        events, orders = old.collections()
        assert (orders.name, orders.table, orders.capped) == ("orders", "orders_1", False)
        assert orders.indexes == [("_id_", [("_id", 1)], True),
                                  ("status_1_created_at_-1", [("status", 1), ("created_at", -1)], False),
                                  ("email_1", [("email", 1)], True)]
        assert (events.capped, events.capped_size, events.capped_documents) == (True, 4096, 10)


def test_documents_come_in_insertion_order_a_capped_collection_in_record_order(tmp_path):
    with OldFiles(ferretdb_folder(str(tmp_path)), "cardshop") as old:
        events, orders = old.collections()
        assert [doc["_id"] for doc in old.documents(orders)] == ["o0", "o1", "o2"]
        assert [doc["_id"] for doc in old.documents(events)] == ["e1", "e2", "e0"]
        assert old.count(orders) == 3


def test_reading_writes_nothing_into_the_folder(tmp_path):
    folder = ferretdb_folder(str(tmp_path))
    before = files_state(folder)
    with OldFiles(folder, "cardshop") as old:
        for collection in old.collections():
            list(old.documents(collection))
    assert files_state(folder) == before


def test_a_document_that_does_not_decode_is_named_by_collection_and_id(tmp_path):
    with OldFiles(ferretdb_folder(str(tmp_path), bad_row=True), "cardshop") as old:
        orders = old.collections()[1]
        with pytest.raises(SourceDataError, match=r'collection orders, document _id "odd": field x: type \'decimal\''):
            list(old.documents(orders))


def test_a_missing_folder_or_database_is_said_so(tmp_path):
    with pytest.raises(SourceMissing, match="does not exist"):
        OldFiles(str(tmp_path / "nowhere"), "cardshop").open()
    folder = ferretdb_folder(str(tmp_path / "other"))
    with pytest.raises(SourceMissing, match="no database 'shop' .* it holds: cardshop"):
        OldFiles(folder, "shop").open()


def test_what_is_not_ferretdbs_sqlite_is_said_so(tmp_path):
    with pytest.raises(NotFerretDB, match="no FerretDB SQLite database"):
        OldFiles(str(tmp_path), "cardshop").open()
    (tmp_path / "cardshop.sqlite").write_text("hello")
    with pytest.raises(NotFerretDB, match="not an SQLite database"):
        OldFiles(str(tmp_path), "cardshop").open()
    os.unlink(tmp_path / "cardshop.sqlite")
    sqlite3.connect(str(tmp_path / "cardshop.sqlite")).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(NotFerretDB, match="not FerretDB's"):
        OldFiles(str(tmp_path), "cardshop").open()


@pytest.mark.parametrize("make,code", [(lambda path: None, main.EX_SOURCE_MISSING),
                                       (lambda path: os.makedirs(path), main.EX_NOT_FERRETDB)])
def test_the_command_turns_each_source_problem_into_one_line_and_its_exit_code(tmp_path, capsys, make, code):
    folder = str(tmp_path / "old")
    make(folder)
    uri_file = tmp_path / "uri"
    uri_file.write_text("mongodb://127.0.0.1:9/\n")
    uri_file.chmod(0o600)
    out = io.StringIO()
    assert main.main(["migrate-database", "--from", folder, "--to-uri-file", str(uri_file), "--json"], out) == code
    assert json.loads(out.getvalue())["exit_code"] == code
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
