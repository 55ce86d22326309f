"""Copy one database from FerretDB 1.24's SQLite files into a MongoDB-compatible server, then verify the copy.

Steps, each collection in name order:

1. Claim the target: its database must hold no collection, and a marker
   document (`migrations`, _id `ferretdb-1.24-sqlite`) is written with
   state `copying` and the list of collections about to be written.
2. Copy: create the collection (capped if it was), insert its documents in
   insertion order, in batches, as the BSON encoded from the decoded rows,
   then create its indexes (the `_id` index exists by itself).
3. Verify, reading the target back: the number of documents and a checksum
   of them, and that every index exists with the same keys and uniqueness.
   The checksum is the sha256, over the document count and the sum modulo
   2**256 of the sha256 of each document's BSON: the BSON is exact (it
   tells int32 from int64 and double, keeps field order, binary subtypes
   and milliseconds), and the sum does not depend on the order a server
   returns documents in.
4. The marker's state becomes `done` when every collection matches,
   `failed` otherwise (and when the copy stops on an error it can catch).

A second run finds the marker: `done` refuses for good; `copying` or
`failed` (an attempt stopped half-way or did not verify) refuses unless
`restart` is given, which drops the collections that attempt listed and
copies again. A target holding collections and no marker is refused: the
daemons (or `ensure_indexes`) already ran on it, and a merge is not a copy.
"""

import hashlib
import logging
import socket
import time

import bson
import pymongo
import pymongo.errors
from bson.codec_options import CodecOptions
from bson.raw_bson import RawBSONDocument

from cardshop.store.clock import now

log = logging.getLogger(__name__)

MARKER_COLLECTION = "migrations"
MARKER_ID = "ferretdb-1.24-sqlite"
BATCH_DOCUMENTS = 1000
BATCH_BYTES = 8 * 1024 * 1024
RAW = CodecOptions(document_class=RawBSONDocument)
AUTH_CODES = {18: "authentication failed", 13: "not authorised"}  # AuthenticationFailed, Unauthorized


class MigrationError(Exception):
    """The migration cannot go on; the message says why and what to do."""


class TargetUnreachable(MigrationError):
    """The target server does not answer."""


class TargetAuthFailed(MigrationError):
    """The target refused the credentials, or their rights."""


class TargetFailed(MigrationError):
    """The target refused an operation of the copy."""


class Refused(MigrationError):
    """The target's state forbids the copy (already migrated, half-way, not empty, a name taken)."""


class Fingerprint:
    """Count and order-independent checksum of a set of BSON documents."""

    def __init__(self):
        self.count, self._sum = 0, 0

    def add(self, raw):
        self.count += 1
        self._sum = (self._sum + int.from_bytes(hashlib.sha256(raw).digest(), "big")) % (1 << 256)

    def hexdigest(self):
        return hashlib.sha256(self.count.to_bytes(8, "big") + self._sum.to_bytes(32, "big")).hexdigest()


class Result:
    """What one collection's copy and check found."""

    def __init__(self, name, source, indexes):
        self.name, self.source, self.indexes = name, source, indexes
        self.target = Fingerprint()
        self.missing_indexes = []
        self.seconds = 0.0

    @property
    def ok(self):
        return (self.source.count == self.target.count and self.source.hexdigest() == self.target.hexdigest()
                and not self.missing_indexes)

    def as_dict(self):
        return {"name": self.name, "ok": self.ok, "documents": self.source.count,
                "target_documents": self.target.count, "sha256": self.source.hexdigest(),
                "target_sha256": self.target.hexdigest(), "indexes": self.indexes,
                "missing_indexes": self.missing_indexes, "seconds": round(self.seconds, 3)}


def describe(uri):
    """The target's hosts for messages (never its credentials)."""
    try:
        nodes = pymongo.uri_parser.parse_uri(uri)["nodelist"]
    except (pymongo.errors.PyMongoError, ValueError):
        return "the target"
    return ",".join(f"{host}:{port}" for host, port in nodes)


def translate(exc, where):
    """A pymongo error as the MigrationError an operator can act on."""
    if isinstance(exc, pymongo.errors.OperationFailure) and exc.code in AUTH_CODES:
        return TargetAuthFailed(f"{where}: {AUTH_CODES[exc.code]}: check the user and password of the target URI")
    if isinstance(exc, (pymongo.errors.ServerSelectionTimeoutError, pymongo.errors.ConnectionFailure)):
        return TargetUnreachable(f"{where} cannot be reached: {str(exc).split(',')[0]}")
    return TargetFailed(f"{where}: {exc}")


def _when(moment):
    """A marker's time for a message: to the second, in UTC."""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if hasattr(moment, "strftime") else "at an unknown time"


class Migration:
    """Copy `old` (an open cardshop.admin.oldfiles.OldFiles) into `db` (a pymongo Database)."""

    def __init__(self, old, db, restart=False):
        self.old, self.db, self.restart = old, db, restart
        self.collections = old.collections()
        self.results = []
        self.seconds = 0.0

    @property
    def ok(self):
        return all(result.ok for result in self.results)

    def run(self):
        started = time.monotonic()
        self._claim()
        try:
            for collection in self.collections:
                self.results.append(self._copy(collection))
        except BaseException as exc:
            self._mark("failed", error=str(exc) or type(exc).__name__)
            raise
        self.seconds = time.monotonic() - started
        self._mark("done" if self.ok else "failed")
        return self

    def _marker(self):
        return self.db[MARKER_COLLECTION].find_one({"_id": MARKER_ID})

    def _claim(self):
        names = [name for name in self.db.list_collection_names() if not name.startswith("system.")]
        if MARKER_COLLECTION in {collection.name for collection in self.collections}:
            raise Refused(f"the old database has a collection named {MARKER_COLLECTION!r}, the name this migration "
                          f"keeps its marker in: rename it with FerretDB 1.24 first")
        marker = self._marker() if MARKER_COLLECTION in names else None
        if marker and marker.get("state") == "done":
            source = marker.get("source") or {}
            raise Refused(f"database {self.db.name} was already migrated (from {source.get('folder')} on "
                          f"{source.get('host')}, finished {_when(marker.get('finished_at'))}): nothing to do")
        if marker and not self.restart:
            raise Refused(f"a previous migration into {self.db.name} stopped half-way or did not verify (state "
                          f"{marker.get('state')}, started {_when(marker.get('started_at'))}"
                          + (f": {marker['error']}" if marker.get("error") else "")
                          + "); run again with --restart to drop what it wrote and copy again")
        if marker:
            for name in marker.get("collections", []):
                if name in names:
                    log.info("dropping %s, written by the attempt started %s", name, _when(marker.get("started_at")))
                    self.db.drop_collection(name)
            names = [name for name in names if name not in marker.get("collections", [])]
        others = sorted(set(names) - {MARKER_COLLECTION})
        if others:
            raise Refused(f"the target database {self.db.name} already holds {', '.join(others[:8])}"
                          + (f" and {len(others) - 8} more" if len(others) > 8 else "")
                          + ": the migration copies into an empty database only (did a daemon start on it?)")
        self.db[MARKER_COLLECTION].replace_one({"_id": MARKER_ID}, {
            "state": "copying",
            "source": {"host": socket.gethostname(), "folder": self.old.folder, "database": self.old.name},
            "collections": [collection.name for collection in self.collections],
            "started_at": now(),
        }, upsert=True)

    def _mark(self, state, error=None):
        fields = {"state": state, "finished_at": now(),
                  "results": [result.as_dict() for result in self.results]}
        if error:
            fields["error"] = error[:500]
        try:
            self.db[MARKER_COLLECTION].update_one({"_id": MARKER_ID}, {"$set": fields})
        except pymongo.errors.PyMongoError as exc:  # the target went away: the marker stays at `copying`
            log.warning("cannot record the migration's state %s: %s", state, exc)

    def _copy(self, collection):
        started = time.monotonic()
        log.info("copying %s (%d documents)", collection.name, self.old.count(collection))
        if collection.capped:
            options = {"capped": True, "size": collection.capped_size}
            if collection.capped_documents:
                options["max"] = collection.capped_documents
            self.db.create_collection(collection.name, **options)
        else:
            self.db.create_collection(collection.name)
        target = self.db.get_collection(collection.name, codec_options=RAW)
        source, batch, size = Fingerprint(), [], 0
        for document in self.old.documents(collection):
            raw = bson.encode(document)
            source.add(raw)
            batch.append(RawBSONDocument(raw))
            size += len(raw)
            if len(batch) >= BATCH_DOCUMENTS or size >= BATCH_BYTES:
                target.insert_many(batch, ordered=True)
                batch, size = [], 0
        if batch:
            target.insert_many(batch, ordered=True)
        copied = time.monotonic()
        indexes = [index for index in collection.indexes if index[0] != "_id_"]
        for name, keys, unique in indexes:
            try:
                target.create_index(keys, name=name, **({"unique": True} if unique else {}))
            except pymongo.errors.OperationFailure as exc:
                raise TargetFailed(f"collection {collection.name}: index {name} cannot be created: {exc}") from None
        result = Result(collection.name, source, [name for name, _, _ in indexes])
        indexed = time.monotonic()
        self._verify(collection, target, result)
        result.seconds = time.monotonic() - started
        log.info("%s: %d documents copied in %.1f s, %d indexes made in %.1f s, read back in %.1f s",
                 collection.name, source.count, copied - started, len(indexes), indexed - copied,
                 started + result.seconds - indexed)
        return result

    def _verify(self, collection, target, result):
        for document in target.find({}, batch_size=BATCH_DOCUMENTS):
            result.target.add(document.raw)
        found = target.index_information()
        for name, keys, unique in collection.indexes:
            index = found.get(name)
            same_keys = index is not None and [(field, int(order)) for field, order in index["key"]] == keys
            same_unique = name == "_id_" or index is not None and bool(index.get("unique")) == unique  # _id_: implied
            if not (same_keys and same_unique):
                result.missing_indexes.append(name)
