"""cardshop-admin: administer an installed Cardshop on its central host.

migrate-database copies the database from FerretDB 1.24's SQLite files into
the new engine and verifies it (docs/operations/database-migration.md).

Exit codes: 0 copied and verified; 1 the verification found a difference;
2 bad usage; 3 the old folder or database file does not exist; 4 it is not
FerretDB 1.24's SQLite; 5 it may not be read; 6 a stored document cannot be
decoded exactly; 7 the target cannot be reached; 8 the target refused the
credentials; 9 the target refused an operation; 10 refused by the target's
state (already migrated, a failed attempt not restarted, not empty); 11 a
daemon or the old FerretDB still runs; 78 configuration error.
"""

import argparse
import json
import logging
import sys

import pymongo
import pymongo.errors

from cardshop.admin import migrate, oldfiles, services
from cardshop.config import ConfigError, load_config, read_secret
from cardshop.config.rules import database_uri
from cardshop.config.scheduler import DEFAULT_PATH, SCHEMA

EX_OK, EX_MISMATCH, EX_USAGE = 0, 1, 2
EX_SOURCE_MISSING, EX_NOT_FERRETDB, EX_SOURCE_UNREADABLE, EX_SOURCE_DATA = 3, 4, 5, 6
EX_UNREACHABLE, EX_AUTH, EX_TARGET_FAILED, EX_REFUSED, EX_RUNNING = 7, 8, 9, 10, 11
EX_CONFIG = 78
EXIT_CODES = [  # the most specific class first
    (oldfiles.SourceMissing, EX_SOURCE_MISSING), (oldfiles.NotFerretDB, EX_NOT_FERRETDB),
    (oldfiles.SourceUnreadable, EX_SOURCE_UNREADABLE), (oldfiles.SourceDataError, EX_SOURCE_DATA),
    (migrate.TargetUnreachable, EX_UNREACHABLE), (migrate.TargetAuthFailed, EX_AUTH),
    (migrate.TargetFailed, EX_TARGET_FAILED), (migrate.Refused, EX_REFUSED),
    (services.ServicesRunning, EX_RUNNING), (ConfigError, EX_CONFIG),
]
DEFAULT_FOLDER = "/var/lib/ferretdb"  # the ferretdb 1.24 package's StateDirectory (DynamicUser: a symlink)
DEFAULT_DATABASE = "cardshop"
TIMEOUT = 10  # seconds to find the target server

log = logging.getLogger("cardshop-admin")


def parser():
    top = argparse.ArgumentParser(prog="cardshop-admin", description=__doc__.split("\n\n")[0],
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    commands = top.add_subparsers(dest="command", required=True)
    command = commands.add_parser(
        "migrate-database", help="copy the database from FerretDB 1.24's SQLite files into the new engine",
        description="Copy every collection (documents and indexes) of one database from FerretDB 1.24's SQLite "
                    "folder into the target server, verify counts, checksums and indexes, and leave the old files "
                    "as they were. Stop cardshop-scheduler, cardshop-monitor and cardshop-beat first.")
    command.add_argument("--from", dest="folder", default=DEFAULT_FOLDER,
                         help=f"FerretDB 1.24's --sqlite-url folder (default {DEFAULT_FOLDER})")
    command.add_argument("--database", help="the database to copy, in the old files and on the target "
                                            f"(default: database.name of the config, else {DEFAULT_DATABASE})")
    command.add_argument("--to-uri-file", help="a file holding the target's mongodb:// URI, with its password "
                                               "(default: database.uri_file or database.uri of --config)")
    command.add_argument("--config", default=DEFAULT_PATH,
                         help=f"the scheduler's config, read for the target when --to-uri-file is not given "
                              f"(default {DEFAULT_PATH})")
    command.add_argument("--restart", action="store_true",
                         help="after an attempt that stopped half-way or did not verify: drop what it wrote "
                              "on the target and copy again")
    command.add_argument("--force", action="store_true",
                         help="skip the check that the daemons and the old FerretDB are stopped")
    command.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    return top


def target(args):
    """(uri, database name) of the target, from --to-uri-file or from the scheduler's config."""
    if args.to_uri_file:
        return read_secret(args.to_uri_file, "--to-uri-file"), args.database or DEFAULT_DATABASE
    config = load_config(SCHEMA, args.config)
    return database_uri(config), args.database or config["database"]["name"]


def migrate_database(args, out):
    uri, name = target(args)
    old = oldfiles.OldFiles(args.folder, name)
    old.check()
    if not args.force:  # before opening: a live log would be copied for nothing
        services.check(old.files())
    with old:
        where = migrate.describe(uri)
        try:
            client = pymongo.MongoClient(uri, tz_aware=True, serverSelectionTimeoutMS=TIMEOUT * 1000,
                                         connectTimeoutMS=TIMEOUT * 1000, appname="cardshop-admin")
        except (pymongo.errors.ConfigurationError, ValueError) as exc:
            raise ConfigError(f"the target URI is not valid: {exc}") from None
        try:
            client.admin.command("ping")
            migration = migrate.Migration(old, client[name], restart=args.restart).run()
        except pymongo.errors.PyMongoError as exc:
            raise migrate.translate(exc, where) from None
        finally:
            client.close()
        report(migration, old, where, args.json, out)
        return EX_OK if migration.ok else EX_MISMATCH


def report(migration, old, where, as_json, out):
    documents = sum(result.source.count for result in migration.results)
    rate = documents / migration.seconds if migration.seconds else 0
    if as_json:
        json.dump({"ok": migration.ok, "exit_code": EX_OK if migration.ok else EX_MISMATCH,
                   "database": old.name, "source": old.folder, "old_files": old.files(), "target": where,
                   "documents": documents, "seconds": round(migration.seconds, 3),
                   "collections": [result.as_dict() for result in migration.results]}, out, indent=2)
        out.write("\n")
        return
    for result in migration.results:
        state = "ok" if result.ok else (
            f"DIFFERENT: the target holds {result.target.count} documents, sha256 {result.target.hexdigest()[:16]}"
            + (f", lacks index {', '.join(result.missing_indexes)}" if result.missing_indexes else ""))
        out.write(f"{result.name}: {result.source.count} documents, {len(result.indexes)} indexes, "
                  f"sha256 {result.source.hexdigest()[:16]}: {state}\n")
    verdict = "copied and verified" if migration.ok else "copied, but the verification found differences"
    out.write(f"{old.name}: {len(migration.results)} collections, {documents} documents {verdict} into {where} "
              f"in {migration.seconds:.1f} s ({rate:.0f} documents/s)\n")
    if migration.ok:
        out.write(f"The old files were not changed: {', '.join(old.files())}. Delete them once you are "
                  "satisfied with the new database.\n")
    else:
        out.write("Nothing was changed in the old files. Run again with --restart to copy again.\n")


def setup_logging():
    """Progress and errors to stderr, one line each, prefixed with the command's name (once per process)."""
    root = logging.getLogger()
    for handler in [handler for handler in root.handlers if getattr(handler, "cardshop_admin", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("cardshop-admin: %(message)s"))
    handler.cardshop_admin = True
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def main(argv=None, out=None):
    out = out or sys.stdout
    args = parser().parse_args(argv)
    setup_logging()
    try:
        return migrate_database(args, out)
    except KeyboardInterrupt:
        log.error("interrupted: run again with --restart to copy again")
        return EX_TARGET_FAILED
    except Exception as exc:
        for kind, code in EXIT_CODES:
            if isinstance(exc, kind):
                break
        else:
            raise
        if args.json:
            json.dump({"ok": False, "exit_code": code, "error": str(exc)}, out)
            out.write("\n")
        log.error("%s", exc)
        return code
