"""The servers of the local stack, each started for real on loopback.

Every server keeps its data, log and PID under its own folder, so several
stacks (the developer's and the tests') can run side by side.
"""

import os
import secrets
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import yaml

from cardshop.database_setup import settings as database_setup
from devstack.database import PostgreSQL
from devstack.processes import Process, StackError, free_port, wait_for_port

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RABBITMQ_BIN = "/usr/lib/rabbitmq/bin"


def _write_secret(path, value):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")


def log_in(api_url, credentials, timeout=60):
    """The token pair for `credentials`; a busy scheduler (503, 429: its password checks are all in use,
    as on a loaded machine) is asked again until `timeout`, any other refusal is a StackError naming it."""
    from cardshop.client import ApiClient
    deadline = time.monotonic() + timeout
    while True:
        reply = ApiClient(api_url).post("/auth/authorize", credentials)
        if reply.status == 200:
            return reply.body
        if reply.status not in (429, 503) or time.monotonic() > deadline:
            raise StackError(f"cannot log in as {credentials['username']}: {reply.status} {reply.error}")
        time.sleep(min(5.0, float(reply.headers.get("Retry-After") or 1)))


FERRETDB_VERSION = "v2.7.0"
OLD_FERRETDB_VERSION = "v1.24.2"  # the engine of Cardshop 0.1, kept to test the migration from it


def ferretdb_binary(version=FERRETDB_VERSION):
    """The FerretDB binary `make deps` built (packaging/ferretdb/build-binary.sh)."""
    binary = os.path.join(REPO, "var", "ferretdb", version, "ferretdb")
    if not os.access(binary, os.X_OK):
        raise StackError(f"FerretDB {version} is not built ({binary}); run `make deps`")
    return binary


class FerretDB:
    """The database: FerretDB 2 (MongoDB's wire protocol, authentication on) in front of PostgreSQL 17
    with DocumentDB (devstack/database.py), as cardshop-database-setup makes it on a central host.

    FerretDB connects as the role `ferretdb` (a member of documentdb_admin_role); each daemon
    logs in with its own role and password (`user_url`), checked by FerretDB against PostgreSQL's
    SCRAM verifier. `url` is the tests' own login.
    """

    GATEWAY = database_setup.GATEWAY_ROLE

    def __init__(self, base, port=None):
        self.postgresql = PostgreSQL(base)
        self.dir = os.path.join(base, "ferretdb")
        self.port = port or free_port()
        self.process = Process("ferretdb", self.dir)
        self._roles = {}  # role -> can log in: the roles this stack uses

    @property
    def url(self):
        return self.user_url("cardshop_tests")

    def user_url(self, role):
        """A mongodb:// URI with the password of `role` (NOLOGIN: it never reaches PostgreSQL itself),
        made now, or at `start` when the database is not running yet."""
        password = self._password(role)
        if role not in self._roles and self.postgresql.process.running():
            self._make_roles({role: False})
        self._roles.setdefault(role, False)
        return f"mongodb://{role}:{urllib.parse.quote(password, safe='')}@127.0.0.1:{self.port}/" \
               "?authMechanism=SCRAM-SHA-256"

    def _password(self, role):
        path = os.path.join(self.dir, f"{role}.password")
        if not os.path.exists(path):
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            _write_secret(path, secrets.token_urlsafe(24))
        with open(path) as handle:
            return handle.read().strip()

    def _make_roles(self, roles):
        """Create (or reset) each role, {name: can log in}; only FerretDB's own logs in, with DocumentDB's rights."""
        sql = []
        for role, login in roles.items():  # the roles cardshop-database-setup makes on a central host
            options = database_setup.GATEWAY_OPTIONS if login else database_setup.DAEMON_OPTIONS
            sql.append(f"DO $$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
                       f"THEN CREATE ROLE {role}; END IF; END$$;")
            verifier = database_setup.scram_verifier(self._password(role))
            sql.append(f"ALTER ROLE {role} WITH {options} PASSWORD '{verifier}';")
            sql += [f"GRANT {grant} TO {role};" for grant in (database_setup.GATEWAY_GRANTS if login else ())]
        self.postgresql.psql("\n".join(sql) + "\n")
        self._roles.update(roles)

    def start(self):
        """Start PostgreSQL and FerretDB, whichever is not running (a fault test kills one of them)."""
        binary = ferretdb_binary()
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        if not self.postgresql.process.running():
            self.postgresql.start()
        if self.process.running():
            return
        self._make_roles({**self._roles, self.GATEWAY: True})
        url_file = os.path.join(self.dir, "postgresql-url")
        _write_secret(url_file, self.postgresql.url(self.GATEWAY, self._password(self.GATEWAY)))
        self.process.start([binary, f"--listen-addr=127.0.0.1:{self.port}", f"--postgresql-url-file={url_file}",
                            f"--state-dir={self.dir}", "--telemetry=disable", "--log-level=warn", "--debug-addr=-"])
        wait_for_port(self.port, 30, self.process.popen, "FerretDB", self.process.log_path)

    def kill9(self):
        """PostgreSQL dies at once (FerretDB stays, as ferretdb.service does, and reconnects after `start`)."""
        self.postgresql.process.kill9()

    def stop(self):
        gateway = self.process.stop()
        return self.postgresql.stop() or gateway


class OldFerretDB:
    """FerretDB 1.24 with its SQLite backend: Cardshop 0.1's database, the source of a migration."""

    def __init__(self, base, port=None):
        self.dir = os.path.join(base, "ferretdb-1.24")
        self.port = port or free_port()
        self.process = Process("ferretdb", self.dir)

    @property
    def url(self):
        return f"mongodb://127.0.0.1:{self.port}/"

    def start(self):
        data = os.path.join(self.dir, "data")
        os.makedirs(data, mode=0o700, exist_ok=True)
        os.chmod(data, 0o700)
        self.process.start([ferretdb_binary(OLD_FERRETDB_VERSION), f"--listen-addr=127.0.0.1:{self.port}",
                            "--handler=sqlite", f"--sqlite-url=file:{data}/", f"--state-dir={self.dir}",
                            "--telemetry=disable", "--log-level=warn", "--debug-addr=-"])
        wait_for_port(self.port, 30, self.process.popen, "FerretDB 1.24", self.process.log_path)

    def stop(self):
        return self.process.stop()


class RabbitMQ:
    """A private RabbitMQ node that asks the scheduler who may do what."""

    VHOST = "cardshop"

    def __init__(self, base, api_url, port=None, cache_ttl_ms=5000):
        self.dir = os.path.join(base, "rabbitmq")
        self.port = port or free_port()
        self.dist_port = free_port()
        self.epmd_port = free_port()
        self.api_url = api_url
        self.cache_ttl_ms = cache_ttl_ms
        self.node = f"cardshop-{self.port}@localhost"
        self.process = Process("rabbitmq", self.dir)
        self.epmd = Process("epmd", self.dir)

    @property
    def url(self):
        return f"amqp://127.0.0.1:{self.port}/{self.VHOST}"

    def env(self):
        env = {key: value for key, value in os.environ.items() if not key.startswith("RABBITMQ_")}
        env.update({
            "HOME": self.dir,
            "RABBITMQ_BASE": self.dir,
            "RABBITMQ_MNESIA_BASE": os.path.join(self.dir, "mnesia"),
            "RABBITMQ_LOG_BASE": os.path.join(self.dir, "log"),
            "RABBITMQ_CONFIG_FILE": os.path.join(self.dir, "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": os.path.join(self.dir, "enabled_plugins"),
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_PID_FILE": os.path.join(self.dir, "rabbitmq-node.pid"),
            "ERL_EPMD_PORT": str(self.epmd_port),
            # epmd and Erlang distribution listen on loopback only, like everything in the stack
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        })
        return env

    def write_config(self):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o700)  # mnesia, the cookie and logs are the broker's alone
        os.makedirs(os.path.join(self.dir, "log"), exist_ok=True)
        with open(os.path.join(REPO, "etc", "rabbitmq", "cardshop.conf")) as handle:
            shipped = handle.read()
        # The shipped snippet, pointed at this stack's scheduler and ports.
        config = shipped.replace("http://127.0.0.1:8080", self.api_url.rstrip("/"))
        config = config.replace("auth_cache.cache_ttl = 60000", f"auth_cache.cache_ttl = {self.cache_ttl_ms}")
        config += (f"\nlisteners.tcp.1 = 127.0.0.1:{self.port}\n"
                   "log.console = false\nlog.file.level = info\n")
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as handle:
            handle.write(config)
        with open(os.path.join(self.dir, "enabled_plugins"), "w") as handle:
            handle.write("[rabbitmq_auth_backend_http,rabbitmq_auth_backend_cache].\n")

    def start(self):
        if not os.path.exists(os.path.join(RABBITMQ_BIN, "rabbitmq-server")):
            raise StackError("rabbitmq-server is not installed; run `make deps`")
        self.write_config()
        env = self.env()
        cookie = os.path.join(self.dir, ".erlang.cookie")
        if not os.path.exists(cookie):
            _write_secret(cookie, secrets.token_hex(16))
            os.chmod(cookie, 0o400)
        self.epmd.start(["epmd", "-port", str(self.epmd_port), "-address", "127.0.0.1"], env=env)
        wait_for_port(self.epmd_port, 10, self.epmd.popen, "epmd", self.epmd.log_path)
        self._launch()

    def _launch(self):
        for attempt in range(3):
            self.process.start([os.path.join(RABBITMQ_BIN, "rabbitmq-server")], env=self.env())
            try:
                wait_for_port(self.port, 90, self.process.popen, "RabbitMQ", self.process.log_path)
                break
            except StackError as exc:
                # Another process (or a client's ephemeral port) took the distribution port meanwhile.
                if "dist_port_already_used" not in str(exc) or attempt == 2:
                    raise
                self.dist_port = free_port()
        self.ctl("await_startup", timeout=60)

    def ctl(self, *args, timeout=30):
        return subprocess.run([os.path.join(RABBITMQ_BIN, "rabbitmqctl"), "-n", self.node, *args],
                              env=self.env(), capture_output=True, text=True, timeout=timeout, check=True)

    def stop(self):
        stopped = self.process.stop(timeout=60)
        self.epmd.stop()
        return stopped

    def restart(self):
        self.process.stop(timeout=60)
        self._launch()


class Scheduler:
    """cardshop-scheduler with a generated config and secrets."""

    def __init__(self, base, mongo_url, port=None, db_name="cardshop", overrides=None, broker_url=None):
        self.dir = os.path.join(base, "scheduler")
        self.broker_url = broker_url
        self.port = port or free_port()
        self.mongo_url = mongo_url
        self.db_name = db_name
        self.overrides = overrides or {}
        self.process = Process("scheduler", self.dir)
        self.config_path = os.path.join(self.dir, "scheduler.yaml")
        self.secrets = os.path.join(self.dir, "secrets")
        self.admin = {"username": "admin", "password": None}
        self.system = {"username": "cardshop-system", "password": None}

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def _secret(self, name, value):
        path = os.path.join(self.secrets, name)
        if not os.path.exists(path):
            _write_secret(path, value)
        with open(path) as handle:
            return path, handle.read().strip()

    def write_config(self):
        os.makedirs(self.secrets, mode=0o700, exist_ok=True)
        jwt_path, _ = self._secret("jwt.key", secrets.token_urlsafe(48))
        admin_path, self.admin["password"] = self._secret("admin.password", secrets.token_urlsafe(12))
        system_path, self.system["password"] = self._secret("system.password", secrets.token_urlsafe(24))
        config = {
            # the stack's manager calls from loopback and names each browser
            "api": {"listen": "127.0.0.1", "port": self.port, "trusted_proxies": ["127.0.0.1"]},
            "database": _database_config(self.dir, self.mongo_url, self.db_name),
            "auth": {"jwt_key_file": jwt_path},
            "system_user": {"username": self.system["username"], "password_file": system_path},
            "bootstrap_admin": {"username": self.admin["username"], "email": "admin@cardshop.invalid",
                                "password_file": admin_path},
        }
        if self.broker_url:
            config["broker"] = {"url": self.broker_url, "username": self.system["username"],
                                "password_file": system_path, "heartbeat": 10}
        for section, values in self.overrides.items():
            config.setdefault(section, {}).update(values)
        with open(self.config_path, "w") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)

    def start(self):
        self.write_config()
        self.process.start([sys.executable, os.path.join(REPO, "daemons", "cardshop-scheduler"),
                            "--config", self.config_path], cwd=REPO)
        wait_for_port(self.port, 30, self.process.popen, "cardshop-scheduler", self.process.log_path)
        deadline = time.monotonic() + 30
        while True:  # listening is not yet serving: wait for /health
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                if time.monotonic() > deadline:
                    raise StackError("cardshop-scheduler does not answer /health") from None
                time.sleep(0.2)

    def stop(self):
        return self.process.stop()

    def worker_user(self, username, role, password=None):
        """Create a worker user (or reset its password); returns (password, its 0600 password file)."""
        from cardshop.client import ApiClient
        path, password = self._secret(f"{username}.password", password or secrets.token_urlsafe(18))
        admin = ApiClient(self.url, log_in(self.url, self.admin)["access_token"])
        reply = admin.post("/users", {"username": username, "email": f"{username}@cardshop.invalid",
                                      "password": password, "role": role})
        if reply.status == 409:
            reply = admin.post(f"/users/{username}/password", {"password": password})
        if reply.status not in (200, 201):
            raise StackError(f"cannot create {username}: {reply.error}")
        return password, path


class Daemon:
    """One of our daemons without a port of its own: config written, started, ready once it logs `READY_LOG`."""

    PROGRAM = None
    READY_LOG = None

    def __init__(self, base, name, config):
        self.dir = os.path.join(base, name)
        self.process = Process(name, self.dir)
        self.config_path = os.path.join(self.dir, f"{self.PROGRAM.removeprefix('cardshop-')}.yaml")
        self.config = config

    def start(self, env=None):
        os.makedirs(self.dir, exist_ok=True)
        config = dict(self.config)
        if "database" in config:
            config["database"] = _database_config(self.dir, **config["database"])
        with open(self.config_path, "w") as handle:
            yaml.safe_dump(config, handle, sort_keys=False)
        offset = os.path.getsize(self.process.log_path) if os.path.exists(self.process.log_path) else 0
        self.process.start([sys.executable, os.path.join(REPO, "daemons", self.PROGRAM),
                            "--config", self.config_path], cwd=REPO, env=env)
        _wait_for_new_log(self.process, offset, self.READY_LOG, 60, self.PROGRAM)

    def stop(self):
        return self.process.stop()


def _database_config(folder, uri, name):
    """The database section: the URI (with the daemon's password) in a 0600 file of `folder`, as
    cardshop-database-setup writes /etc/cardshop/secrets/database-<daemon>.uri."""
    path = os.path.join(folder, "database.uri")
    os.makedirs(folder, exist_ok=True)
    _write_secret(path, uri)
    return {"uri_file": path, "name": name}


def _system_daemon_config(mongo_url, db_name, broker_url, system_password_file):
    return {"database": {"uri": mongo_url, "name": db_name},
            "broker": {"url": broker_url, "username": "cardshop-system",
                       "password_file": system_password_file, "heartbeat": 10}}


class Monitor(Daemon):
    """cardshop-monitor, logged into RabbitMQ as the system user."""

    PROGRAM, READY_LOG = "cardshop-monitor", "consuming reports"

    def __init__(self, base, mongo_url, db_name, broker_url, system_password_file, api_url, name="monitor",
                 settings=None):
        # The scheduler: the monitor logs into the warehouse as the system user to check results.
        super().__init__(base, name, {**_system_daemon_config(mongo_url, db_name, broker_url, system_password_file),
                                      "scheduler": {"api_url": api_url}, **({"monitor": settings} if settings else {})})


def _wait_for_new_log(process, offset, needle, timeout, name):
    """Wait until the process logs `needle` after byte `offset` of its log (earlier runs do not count)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen is not None and process.popen.poll() is not None:
            raise StackError(f"{name} exited with code {process.popen.returncode}; see {process.log_path}")
        if os.path.exists(process.log_path):
            with open(process.log_path, errors="replace") as handle:
                handle.seek(offset)
                if needle in handle.read():
                    return
        time.sleep(0.1)
    raise StackError(f"{name} did not log {needle!r} within {timeout} s; see {process.log_path}")


class Warehouse:
    """cardshop-warehouse on loopback, asking `api_url` who logs in."""

    def __init__(self, base, api_url, port=None, tls=None, reserve_bytes=0, root=None):
        self.dir = os.path.join(base, "warehouse")
        self.root = root or os.path.join(self.dir, "root")
        self.port = port or free_port()
        self.process = Process("warehouse", self.dir)
        self.config_path = os.path.join(self.dir, "warehouse.yaml")
        self.config = {
            "ftp": {"listen": "127.0.0.1", "port": self.port},
            "storage": {"root": self.root, "reserve_bytes": reserve_bytes},
            "scheduler": {"api_url": api_url, "cache_seconds": 2},
        }
        if tls:
            self.config["tls"] = tls

    @property
    def url(self):
        return f"{'ftps' if 'tls' in self.config else 'ftp'}://127.0.0.1:{self.port}/"

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        with open(self.config_path, "w") as handle:
            yaml.safe_dump(self.config, handle, sort_keys=False)
        self.process.start([sys.executable, os.path.join(REPO, "daemons", "cardshop-warehouse"),
                            "--config", self.config_path], cwd=REPO)
        wait_for_port(self.port, 30, self.process.popen, "cardshop-warehouse", self.process.log_path)

    def stop(self):
        return self.process.stop()


class ContentServer:
    """Sample content over HTTP, with HEAD and Range (devstack/content.py)."""

    def __init__(self, base, port=None, name="content", rate=0):
        self.dir = os.path.join(base, name)
        self.root = os.path.join(self.dir, "files")
        self.port = port or free_port()
        self.rate = rate
        self.process = Process(name, self.dir)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        os.makedirs(self.root, exist_ok=True)
        self.process.start([sys.executable, "-m", "devstack.content", self.root, str(self.port), str(self.rate)],
                           cwd=REPO)
        wait_for_port(self.port, 15, self.process.popen, "content server", self.process.log_path)

    def stop(self):
        return self.process.stop()

    @property
    def allowed(self):
        """The creator.fetch_allow entry that lets a creator fetch from this server (on loopback)."""
        return {"network": "127.0.0.1", "port": self.port}


class Creator(Daemon):
    """cardshop-creator logged in as a creator user."""

    PROGRAM, READY_LOG = "cardshop-creator", "ready: consuming create"

    def __init__(self, base, api_url, broker_url, username, password_file, name="creator", concurrency=1,
                 fetch_allow=()):
        """`fetch_allow`: the loopback content servers it may fetch from (creator.fetch_allow entries)."""
        folder = os.path.join(base, name)
        super().__init__(base, name, {
            "broker": {"url": broker_url, "username": username, "password_file": password_file, "heartbeat": 10},
            "scheduler": {"api_url": api_url},
            "creator": {"concurrency": concurrency, "cache_dir": os.path.join(folder, "cache"),
                        "build_dir": os.path.join(folder, "build"), "disk_margin_bytes": 64 * 1024 * 1024,
                        "fetch_allow": list(fetch_allow)},
        })


class Beat(Daemon):
    """cardshop-beat (exactly one per stack), as the system user."""

    PROGRAM, READY_LOG = "cardshop-beat", "ready: running the schedule"

    def __init__(self, base, mongo_url, db_name, broker_url, system_password_file, api_url, mail=None):
        """`mail`: the beat's mail section (e-mail notifications), none by default."""
        super().__init__(base, "beat", {**_system_daemon_config(mongo_url, db_name, broker_url, system_password_file),
                                        "scheduler": {"api_url": api_url}, **({"mail": mail} if mail else {})})
