"""PostgreSQL 17 with DocumentDB, run for the local stack and the tests from the database root.

The root (var/rootfs/database, made by packaging/database-root.sh from `make
deps`) is a Debian 13 tree holding PostgreSQL 17, its extensions and our
postgresql-17-documentdb package. systemd-nspawn runs one cluster from it, on
the host's network and loopback only, with the root read-only: many clusters
(the developer's stack, the tests', other worktrees') share one root, each
with its data, log and PID under its own folder, bound in from outside.
"""

import contextlib
import os
import secrets
import shutil
import subprocess
import time
import urllib.parse

from devstack.processes import Process, StackError, free_port, wait_for_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.join(REPO, "var", "rootfs", "database")
BIN = "/usr/lib/postgresql/17/bin"
# The mount point packaging/database-root.sh makes in the root (it is read-only when a cluster runs).
CLUSTER = "/var/lib/postgresql/cluster"
PGDATA = f"{CLUSTER}/data"
PGPASS = "/run/cardshop.pgpass"

# What FerretDB 2.7's setup asks of the cluster (its DocumentDB install notes): the libraries
# preloaded, pg_cron in the database FerretDB uses, and the DocumentDB features it relies on
# (not enableSortbyIdPushDownToPrimaryKey, which its notes name too: DocumentDB 0.107 has no such setting).
SETTINGS = {
    "shared_preload_libraries": "pg_cron,pg_documentdb_core,pg_documentdb",
    "cron.database_name": "postgres",
    "documentdb.enableCompact": True,
    "documentdb.enableLetAndCollationForQueryMatch": True,
    "documentdb.enableNowSystemVariable": True,
    "documentdb.enableSchemaValidation": True,
    "documentdb.enableBypassDocumentValidation": True,
    "documentdb.enableUserCrud": True,
    "documentdb.maxUserLimit": 100,
    "password_encryption": "scram-sha-256",
    # DocumentDB runs some commands (explain, index builds...) over a connection back to the server,
    # as the user it serves and without a password: through the socket, which only PostgreSQL sees
    # (the container's own /run/postgresql), where HBA below lets the OS user postgres be any role.
    "documentdb.localhost_connection_string": "host=/run/postgresql",
    "cron.host": "/run/postgresql",  # pg_cron's jobs (TTL deletes, index builds) connect back the same way
}
# Passwords (SCRAM-SHA-256) over TCP, on loopback only.
HBA = """\
local all all peer map=server
host all all 127.0.0.1/32 scram-sha-256
"""
IDENT = "server postgres all\n"


def _conf_value(value):
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


class PostgreSQL:
    """A PostgreSQL 17 cluster with the documentdb extension, listening on 127.0.0.1:`port`."""

    superuser = "postgres"

    def __init__(self, base, port=None, root=ROOT):
        self.dir = os.path.join(base, "postgresql")
        self.cluster = os.path.join(self.dir, "cluster")
        self.port = port or free_port()
        self.root = root
        self.process = Process("postgresql", self.dir)
        self.password_path = os.path.join(self.dir, "superuser.password")
        self.pgpass_path = os.path.join(self.dir, "pgpass")

    @property
    def superuser_password(self):
        with open(self.password_path) as handle:
            return handle.read().strip()

    def url(self, user=None, password=None, database="postgres"):
        """A postgres:// URL for `user` (the superuser, with its password, by default)."""
        if user is None:
            user, password = self.superuser, self.superuser_password
        credentials = urllib.parse.quote(user, safe="")
        if password is not None:
            credentials += ":" + urllib.parse.quote(password, safe="")
        return f"postgres://{credentials}@127.0.0.1:{self.port}/{urllib.parse.quote(database, safe='')}"

    def start(self):
        if self.process.running():
            raise StackError(f"PostgreSQL of {self.dir} is already running (PID {self.process.pid})")
        uid, gid = self._check_root()
        if not os.path.exists(os.path.join(self.cluster, "data", "PG_VERSION")):
            self._initdb(uid, gid)
        self._write_settings()
        # A PostgreSQL killed with -9 leaves its postmaster.pid, whose "ready" must not be taken
        # for this start's (it is stale: no process of ours runs this cluster, checked above).
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._postmaster_pid)
        self.process.start(self._nspawn(
            "--kill-signal=SIGINT",  # stop() (SIGTERM to nspawn) becomes PostgreSQL's fast shutdown
            f"--bind={self.cluster}:{CLUSTER}",
            f"--tmpfs=/run/postgresql:uid={uid},gid={gid},mode=0755",
            "--user=postgres", f"--chdir={CLUSTER}",
            # PostgreSQL is the container's PID 1, in a session of its own: when nspawn dies
            # (kill -9 of what Process tracks), the kernel kills it, and with it the container.
            "/usr/bin/setpriv", "--pdeathsig", "SIGKILL",
            f"{BIN}/postgres", "-D", PGDATA, "-c", "listen_addresses=127.0.0.1", "-c", f"port={self.port}"),
            env=self._env())
        self._wait_ready(60)
        wait_for_port(self.port, 10, self.process.popen, "PostgreSQL", self.process.log_path)
        created = os.path.join(self.dir, "extension-created")
        if not os.path.exists(created):
            self.psql("CREATE EXTENSION IF NOT EXISTS documentdb CASCADE")
            open(created, "w").close()

    def stop(self):
        return self.process.stop()

    def psql(self, sql, database="postgres"):
        """Run `sql` as the superuser (psql of the root, over TCP with the password); its output, unaligned."""
        done = subprocess.run(
            self._nspawn(f"--bind-ro={self.pgpass_path}:{PGPASS}", f"--setenv=PGPASSFILE={PGPASS}",
                         f"{BIN}/psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                         "-p", str(self.port), "-U", self.superuser, "-d", database, "-f", "-"),
            input=sql, capture_output=True, text=True, timeout=120, env=self._env())
        if done.returncode:
            raise StackError(f"psql on port {self.port} failed: {_without_nspawn_noise(done.stderr)}")
        return done.stdout

    def _nspawn(self, *args):
        return ["systemd-nspawn", "--quiet", f"--directory={self.root}", "--read-only", "--register=no",
                "--keep-unit", "--pipe", *args]

    @staticmethod
    def _env():
        return {**os.environ, "SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"}

    def _check_root(self):
        """The uid and gid of the root's postgres user (who owns the cluster's files), once the root is there."""
        if shutil.which("systemd-nspawn") is None:
            raise StackError("systemd-nspawn is not installed; run `make deps`")
        if not os.path.exists(os.path.join(self.root, BIN.lstrip("/"), "postgres")) or \
                not os.path.isdir(os.path.join(self.root, CLUSTER.lstrip("/"))):
            raise StackError(f"the database root {self.root} is missing or incomplete; run `make deps`")
        with open(os.path.join(self.root, "etc", "passwd")) as handle:
            for line in handle:
                fields = line.split(":")
                if fields[0] == "postgres":
                    return int(fields[2]), int(fields[3])
        raise StackError(f"the database root {self.root} has no postgres user; run `make deps`")

    def _initdb(self, uid, gid):
        """A new cluster: SCRAM-SHA-256 over TCP, peer on the socket, the superuser's password generated."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        os.makedirs(self.cluster, mode=0o700, exist_ok=True)
        os.chown(self.cluster, uid, gid)
        password = secrets.token_urlsafe(24)
        _write_private(self.password_path, password + "\n")
        _write_private(self.pgpass_path, f"127.0.0.1:*:*:{self.superuser}:{password}\n")
        # initdb reads the password from a file only postgres can read, inside the bound folder.
        pwfile = os.path.join(self.cluster, "initdb.pw")
        _write_private(pwfile, password + "\n")
        os.chown(pwfile, uid, gid)
        try:
            done = subprocess.run(self._nspawn(
                f"--bind={self.cluster}:{CLUSTER}", "--user=postgres", f"--chdir={CLUSTER}",
                f"{BIN}/initdb", "-D", PGDATA, f"--username={self.superuser}", f"--pwfile={CLUSTER}/initdb.pw",
                "--auth-local=peer", "--auth-host=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8"),
                capture_output=True, text=True, timeout=120, env=self._env())
        finally:
            os.unlink(pwfile)
        if done.returncode:
            raise StackError(f"initdb failed: {_without_nspawn_noise(done.stdout + done.stderr)}")
        with open(os.path.join(self.cluster, "data", "postgresql.conf"), "a") as handle:
            handle.write("\ninclude 'cardshop.conf'\n")

    def _write_settings(self):
        """cardshop.conf, pg_hba.conf and pg_ident.conf, written at every start: a change reaches existing clusters."""
        lines = ["# Written by devstack/database.py at every start."]
        lines += [f"{name} = {_conf_value(value)}" for name, value in SETTINGS.items()]
        for name, text in (("cardshop.conf", "\n".join(lines) + "\n"), ("pg_hba.conf", HBA), ("pg_ident.conf", IDENT)):
            with open(os.path.join(self.cluster, "data", name), "w") as handle:
                handle.write(text)

    @property
    def _postmaster_pid(self):
        return os.path.join(self.cluster, "data", "postmaster.pid")

    def _wait_ready(self, timeout):
        """Until postmaster.pid says PostgreSQL accepts connections (its 8th line, as pg_ctl reads it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.popen.poll() is not None:
                raise StackError(f"PostgreSQL exited with code {self.process.popen.returncode}; "
                                 f"see {self.process.log_path}")
            try:
                with open(self._postmaster_pid) as handle:
                    lines = handle.read().splitlines()
            except OSError:
                lines = []
            if len(lines) >= 8 and lines[7].strip() == "ready":
                return
            time.sleep(0.05)
        self.process.stop()
        raise StackError(f"PostgreSQL was not ready within {timeout} s; see {self.process.log_path}")


def _write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def _without_nspawn_noise(text):
    """nspawn's own closing complaint about its propagation folder says nothing about the command."""
    return "\n".join(line for line in text.splitlines() if "/run/systemd/nspawn/propagate" not in line).strip()
