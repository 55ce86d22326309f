"""The database host as cardshop-database-setup sees it: files, the Debian cluster, its roles.

Commands run as root; SQL goes to the cluster as the postgres superuser over
its local socket (peer), on psql's standard input, never on a command line.
"""

import grp
import os
import subprocess

from cardshop.database_setup import settings


class SetupError(Exception):
    """A step failed; the message says which and what to look at."""


class Host:
    """Paths of one database host (the defaults are Debian's and Cardshop's)."""

    def __init__(self, pg_version=settings.PG_VERSION, cluster=settings.CLUSTER,
                 secrets_dir="/etc/cardshop/secrets", ferretdb_url_file="/etc/ferretdb/postgresql-url"):
        self.pg_version, self.cluster = pg_version, cluster
        self.config_dir = f"/etc/postgresql/{pg_version}/{cluster}"
        self.snippet = os.path.join(self.config_dir, "conf.d", "cardshop.conf")
        self.hba = os.path.join(self.config_dir, "pg_hba.conf")
        self.ident = os.path.join(self.config_dir, "pg_ident.conf")
        self.secrets_dir = secrets_dir
        self.ferretdb_url_file = ferretdb_url_file

    def daemon_secret(self, daemon):
        return os.path.join(self.secrets_dir, f"database-{daemon}.uri")

    # -- commands -----------------------------------------------------------------

    def run(self, argv, stdin=None, check=True):
        try:
            done = subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise SetupError(f"cannot run {argv[0]}: {exc.strerror}") from None
        if check and done.returncode != 0:
            detail = (done.stderr or done.stdout).strip().splitlines()
            raise SetupError(f"{' '.join(argv[:3])} failed (exit {done.returncode})"
                             + (f": {detail[-1]}" if detail else ""))
        return done

    def psql(self, sql):
        """Run SQL as postgres in the cluster's postgres database; rows as lists of fields."""
        argv = ["runuser", "-u", "postgres", "--", "env", f"PGCLUSTER={self.pg_version}/{self.cluster}",
                "psql", "-X", "-q", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-d", settings.DATABASE]
        out = self.run(argv, stdin=sql).stdout
        return [line.split("\t") for line in out.splitlines() if line]

    def pg_ctlcluster(self, action):
        self.run(["pg_ctlcluster", self.pg_version, self.cluster, action])

    # -- the cluster --------------------------------------------------------------

    def cluster_exists(self):
        return os.path.isfile(os.path.join(self.config_dir, "postgresql.conf"))

    def create_cluster(self):
        self.run(["pg_createcluster", self.pg_version, self.cluster])

    def cluster_running(self):
        # pg_ctlcluster status: 0 running, 3 stopped, 4 no such cluster or not readable
        return self.run(["pg_ctlcluster", self.pg_version, self.cluster, "status"], check=False).returncode == 0

    def includes_conf_d(self):
        with open(os.path.join(self.config_dir, "postgresql.conf"), encoding="utf-8") as handle:
            return any(line.split("#", 1)[0].split() in (["include_dir", "=", "'conf.d'"], ["include_dir", "'conf.d'"])
                       for line in handle)

    def pending_restart(self):
        return [row[0] for row in self.psql("SELECT name FROM pg_settings WHERE pending_restart;")]

    def running_settings(self):
        names = ", ".join(f"'{name}'" for name, _ in settings.SETTINGS)
        return dict(self.psql(f"SELECT name, setting FROM pg_settings WHERE name IN ({names});"))

    def has_extension(self, name="documentdb"):
        return bool(self.psql(f"SELECT 1 FROM pg_extension WHERE extname = '{name}';"))

    def create_extension(self):
        self.psql("CREATE EXTENSION IF NOT EXISTS documentdb CASCADE;")

    def cron_jobs_off_socket(self):
        """pg_cron jobs that connect over TCP: scheduled before cron.host named the socket."""
        return [row[0] for row in self.psql(
            f"SELECT jobid FROM cron.job WHERE nodename <> '{settings.SOCKET_DIR}' ORDER BY jobid;")]

    def move_cron_jobs_to_socket(self):
        self.psql(f"UPDATE cron.job SET nodename = '{settings.SOCKET_DIR}' WHERE nodename <> '{settings.SOCKET_DIR}';")

    def roles(self):
        """Role name -> (verifier, can log in, member of the gateway's grants)."""
        names = [settings.GATEWAY_ROLE] + [settings.role_of(daemon) for daemon in settings.DAEMON_GROUPS]
        listed = ", ".join(f"'{name}'" for name in names)
        grants = " AND ".join(f"pg_has_role(rolname, '{role}', 'MEMBER')" for role in settings.GATEWAY_GRANTS)
        rows = self.psql(f"SELECT rolname, coalesce(rolpassword, ''), rolcanlogin, {grants} FROM pg_authid "
                         f"WHERE rolname IN ({listed});")
        return {name: (verifier, login == "t", member == "t") for name, verifier, login, member in rows}

    def set_role(self, name, options, password, create, grants=()):
        """Create or alter a role to these options and password; grant it `grants`."""
        assert settings.ROLE_NAME.match(name), name
        verb = "CREATE" if create else "ALTER"
        sql = f"{verb} ROLE {name} WITH {options} PASSWORD '{settings.scram_verifier(password)}';\n"
        sql += "".join(f"GRANT {role} TO {name};\n" for role in grants)
        self.psql(sql)

    # -- files --------------------------------------------------------------------

    @staticmethod
    def read(path):
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SetupError(f"cannot read {path}: {exc.strerror}") from None

    @staticmethod
    def write(path, text, mode, keep_owner=True):
        """Replace `path` whole (temporary file renamed over it), keeping its owner."""
        temporary = f"{path}.tmp-{os.getpid()}"
        try:
            before = os.stat(path) if keep_owner and os.path.exists(path) else None
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.chmod(temporary, mode)
            if before:
                os.chown(temporary, before.st_uid, before.st_gid)
            os.replace(temporary, path)
        except OSError as exc:
            if os.path.exists(temporary):
                os.unlink(temporary)
            raise SetupError(f"cannot write {path}: {exc.strerror}") from None

    @staticmethod
    def _gid(group, path):
        try:
            return grp.getgrnam(group).gr_gid
        except KeyError:
            raise SetupError(f"no group {group!r} for {path} (the packages cardshop-database and "
                             "cardshop-scheduler make it)") from None

    def create_secret(self, path, text, group, mode):
        """Write a new secret file, root:group; an existing one is never replaced (O_EXCL)."""
        gid = self._gid(group, path)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                os.fchown(handle.fileno(), 0, gid)
                os.fchmod(handle.fileno(), mode)
                handle.write(text)
        except FileExistsError:
            return False
        except OSError as exc:
            raise SetupError(f"cannot write {path}: {exc.strerror}") from None
        return True

    def own_secret(self, path, group, mode):
        """Make an existing secret file root:group `mode` (from the one-user layout, where every
        daemon's was root:cardshop): its content stays."""
        gid = self._gid(group, path)
        try:
            os.chown(path, 0, gid)
            os.chmod(path, mode)
        except OSError as exc:
            raise SetupError(f"cannot give {path} to root:{group}: {exc.strerror}") from None

    @staticmethod
    def secret_problem(path, group, mode):
        """Why a secret file is not as it should be, or None."""
        try:
            info = os.stat(path)
        except FileNotFoundError:
            return f"{path} is missing"
        except OSError as exc:
            return f"{path} cannot be read: {exc.strerror}"
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            return f"no group {group!r} for {path}"
        if info.st_uid != 0 or info.st_gid != gid or info.st_mode & 0o777 != mode:
            return f"{path} should be root:{group} mode {mode:04o} (is uid {info.st_uid} gid {info.st_gid} " \
                   f"mode {info.st_mode & 0o777:04o})"
        return None
