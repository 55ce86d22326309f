"""Read a FerretDB 1.24 SQLite folder (its `--sqlite-url`) without writing anything to it.

Each database is one SQLite file, `<database>.sqlite`, in WAL mode. Its table
`_ferretdb_collections` lists the collections: `name`, `table_name` and
`settings`, a JSON object with `indexes` (each `{name, key: [{field,
descending}], unique}`; FerretDB 1.24 refused TTL and partial indexes, so
there are none) and `cappedSize`/`cappedDocuments` (0 unless capped). A
collection's table holds one document per row in the column `_ferretdb_sjson`
(see cardshop.admin.sjson), and a capped one also `_ferretdb_record_id`, its
insertion order.

Opening: a FerretDB that stopped cleanly left no `-wal` file, and the file is
opened with `mode=ro&immutable=1`, so SQLite neither writes nor creates
anything next to it. A `-wal` file with content means FerretDB did not stop
cleanly (or still runs: cardshop.admin.services checks): the database file
and its `-wal` are then copied into a private temporary folder, and the copy
is read (SQLite applies the log to the copy only). The original folder is
never written to.
"""

import glob
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import urllib.parse

from cardshop.admin import sjson

log = logging.getLogger(__name__)

SUFFIX = ".sqlite"
METADATA = "_ferretdb_collections"
DOCUMENT_COLUMN = "_ferretdb_sjson"
RECORD_COLUMN = "_ferretdb_record_id"
SQLITE_MAGIC = b"SQLite format 3\x00"


class SourceError(Exception):
    """The old files cannot be read as FerretDB 1.24's; the message says which and why."""


class SourceMissing(SourceError):
    """The folder or the database's file does not exist."""


class NotFerretDB(SourceError):
    """The file is not SQLite, or not a database FerretDB 1.24 wrote."""


class SourceUnreadable(SourceError):
    """The folder or a file exists but may not be read (run as root?)."""


class SourceDataError(SourceError):
    """A stored document cannot be decoded exactly; the message names the collection and the _id."""


class Collection:
    """One collection as FerretDB 1.24 recorded it."""

    def __init__(self, name, table, settings):
        self.name, self.table = name, table
        self.indexes = [(index["name"], [(key["field"], -1 if key.get("descending") else 1) for key in index["key"]],
                         bool(index.get("unique"))) for index in settings.get("indexes") or []]
        self.capped_size = int(settings.get("cappedSize") or 0)
        self.capped_documents = int(settings.get("cappedDocuments") or 0)

    @property
    def capped(self):
        return self.capped_size > 0


def _readable(path, what):
    try:
        with open(path, "rb") as handle:
            return handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise SourceMissing(f"{what} {path} does not exist") from None
    except PermissionError:
        raise SourceUnreadable(f"{what} {path} may not be read by this user (run as root)") from None
    except IsADirectoryError:
        raise NotFerretDB(f"{what} {path} is a folder, not an SQLite file") from None
    except OSError as exc:
        raise SourceUnreadable(f"cannot read {what} {path}: {exc.strerror}") from None


class OldFiles:
    """The database `name` of the FerretDB 1.24 folder `folder`; use as a context manager."""

    def __init__(self, folder, name):
        self.given = folder
        self.folder = os.path.realpath(folder)
        self.name = name
        self.path = os.path.join(self.folder, name + SUFFIX)
        self.snapshot = None  # the private copy's folder, when the original had a write-ahead log
        self.connection = None

    def files(self):
        """The database's files in the old folder (the file, and a -wal or -shm left beside it)."""
        return [path for path in (self.path, self.path + "-wal", self.path + "-shm") if os.path.exists(path)]

    def __enter__(self):
        self.open()
        return self

    def __exit__(self, *exc):
        self.close()

    def check(self):
        """Raise the SourceError that opening would, without opening (the folder, the file, its header)."""
        if not os.path.exists(self.folder):
            raise SourceMissing(f"the FerretDB 1.24 folder {self.given} does not exist")
        if not os.path.isdir(self.folder):
            raise NotFerretDB(f"{self.given} is not a folder (give FerretDB 1.24's --sqlite-url folder)")
        if not os.access(self.folder, os.R_OK | os.X_OK):
            raise SourceUnreadable(f"the folder {self.folder} may not be read by this user (run as root)")
        if not os.path.exists(self.path):
            others = sorted(os.path.basename(path)[:-len(SUFFIX)] for path in glob.glob(
                os.path.join(glob.escape(self.folder), "*" + SUFFIX)))
            if not others:
                raise NotFerretDB(f"{self.folder} holds no FerretDB SQLite database (no *{SUFFIX} file)")
            raise SourceMissing(f"{self.folder} has no database {self.name!r} ({self.name}{SUFFIX}); "
                                f"it holds: {', '.join(others)} (choose one with --database)")
        if _readable(self.path, "the database file") != SQLITE_MAGIC:
            raise NotFerretDB(f"{self.path} is not an SQLite database")

    def open(self):
        self.check()
        wal = self.path + "-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            _readable(wal, "the write-ahead log")
            self.connection = self._open_snapshot(wal)
        else:
            uri = f"file:{urllib.parse.quote(self.path)}?mode=ro&immutable=1"
            self.connection = sqlite3.connect(uri, uri=True)
        self.connection.text_factory = bytes
        try:
            found = self.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ?",
                                            (METADATA,)).fetchone()
        except sqlite3.DatabaseError as exc:
            self.close()
            raise NotFerretDB(f"{self.path} cannot be read as SQLite: {exc}") from None
        if not found:
            self.close()
            raise NotFerretDB(f"{self.path} is SQLite but not FerretDB's (no {METADATA} table)")

    def _open_snapshot(self, wal):
        """Copy the file and its log into a private folder and open the copy (SQLite applies the log there)."""
        log.warning("%s has a write-ahead log: FerretDB 1.24 did not stop cleanly; reading a private copy", wal)
        self.snapshot = tempfile.mkdtemp(prefix="cardshop-migrate-")
        copy = os.path.join(self.snapshot, os.path.basename(self.path))
        try:
            shutil.copyfile(self.path, copy)
            shutil.copyfile(wal, copy + "-wal")
        except PermissionError:
            self.close()
            raise SourceUnreadable(f"{self.path} or its -wal may not be read by this user (run as root)") from None
        except OSError as exc:
            self.close()
            raise SourceUnreadable(f"cannot copy {self.path} and its -wal to {self.snapshot}: {exc.strerror}") \
                from None
        return sqlite3.connect(f"file:{urllib.parse.quote(copy)}", uri=True)

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None
        if self.snapshot:
            shutil.rmtree(self.snapshot, ignore_errors=True)
            self.snapshot = None

    def collections(self):
        """Every collection, by name."""
        try:
            rows = self.connection.execute(f'SELECT name, table_name, settings FROM "{METADATA}" ORDER BY name')
            found = []
            for name, table, settings in rows:
                found.append(Collection(name.decode(), table.decode(), json.loads(settings)))
            return found
        except (sqlite3.DatabaseError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise NotFerretDB(f"{self.path}: the collection list ({METADATA}) cannot be read: {exc}") from None

    def count(self, collection):
        try:
            return self.connection.execute(f'SELECT count(*) FROM "{collection.table}"').fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise NotFerretDB(f"{self.path}: table {collection.table} of collection {collection.name} "
                              f"cannot be read: {exc}") from None

    def documents(self, collection):
        """Yield each document of `collection` as a dict, in insertion order."""
        order = RECORD_COLUMN if collection.capped else "rowid"
        rows = None
        while True:
            try:
                if rows is None:
                    rows = self.connection.execute(
                        f'SELECT {DOCUMENT_COLUMN} FROM "{collection.table}" ORDER BY {order}')
                batch = rows.fetchmany(500)
            except sqlite3.DatabaseError as exc:
                raise NotFerretDB(f"{self.path}: table {collection.table} of collection {collection.name} "
                                  f"cannot be read: {exc}") from None
            if not batch:
                return
            for (text,) in batch:
                try:
                    yield sjson.decode(text)
                except sjson.DecodeError as exc:
                    raise SourceDataError(f"collection {collection.name}, document _id {sjson.stored_id(text)}: "
                                          f"{exc}") from None
