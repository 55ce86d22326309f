"""What cardshop-database-setup writes, rendered without touching the host.

The cluster's settings snippet, the pg_hba.conf rules, the URIs in the
secret files and the SCRAM-SHA-256 verifiers set on the roles (computed
here, so a password never travels in an SQL statement a log could keep).
"""

import base64
import hashlib
import hmac
import re
import secrets
import string
import urllib.parse

PG_VERSION = "17"
CLUSTER = "main"
PG_PORT = 5432
FERRETDB_ADDRESS = ("127.0.0.1", 27017)
DATABASE = "postgres"  # FerretDB's DocumentDB lives in the cluster's postgres database

# FerretDB's own PostgreSQL role: every MongoDB command runs as it (one pool).
GATEWAY_ROLE = "ferretdb"
GATEWAY_GRANTS = ("documentdb_admin_role",)
GATEWAY_OPTIONS = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT NOREPLICATION NOBYPASSRLS"
# FerretDB checks a client's SCRAM proof against the role's verifier itself (DocumentDB reads
# pg_authid); then every command runs as the gateway role. So a daemon's role needs no LOGIN
# and no privilege: it can do nothing in PostgreSQL, even with its password.
DAEMON_OPTIONS = "NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS"
# One database identity per daemon, and the group that may read its secret: the
# daemon's own (Group= of its unit, made by cardshop-scheduler's sysusers.d), so
# no other daemon reads another's database password.
DAEMON_GROUPS = {"scheduler": "cardshop-scheduler", "monitor": "cardshop-monitor", "beat": "cardshop-beat"}

SOCKET_DIR = "/var/run/postgresql"  # Debian's unix_socket_directories
SETTINGS = (
    ("shared_preload_libraries", "pg_cron,pg_documentdb_core,pg_documentdb"),
    ("cron.database_name", DATABASE),
    # pg_cron's jobs (DocumentDB's TTL deletes and index builds, owned by postgres) and
    # DocumentDB's own connections back to the cluster (explain, index builds, as the
    # session's role) use libpq without a password: over the local socket, where peer
    # (with the map below for FerretDB's role) lets the server's own OS user in.
    ("cron.host", SOCKET_DIR),
    ("documentdb.localhost_connection_string", f"host={SOCKET_DIR}"),
    ("listen_addresses", "localhost"),
    ("password_encryption", "scram-sha-256"),
)
IDENT_MAP = "cardshop_documentdb"
BLOCK_BEGIN = "# cardshop-database-setup: begin (rewritten by its next run)"
BLOCK_END = "# cardshop-database-setup: end"
# Methods that let a client in without proving a password, or send it in clear,
# and what replaces them: peer on the local socket, SCRAM over TCP.
WEAK_METHODS = {"trust", "password", "md5"}

PASSWORD_ALPHABET = string.ascii_letters + string.digits  # nothing to quote in a URI or in SQL
PASSWORD_LENGTH = 32
SCRAM_ITERATIONS = 4096  # PostgreSQL's scram_iterations default
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def role_of(daemon):
    return f"cardshop_{daemon}"


def conf_snippet():
    """The text of conf.d/cardshop.conf."""
    lines = ["# Written by cardshop-database-setup, which rewrites it at every run:",
             "# DocumentDB (FerretDB 2's storage), loopback only, SCRAM passwords."]
    lines += [f"{name} = '{value}'" for name, value in SETTINGS]
    return "\n".join(lines) + "\n"


def hba_block():
    """The rules cardshop-database-setup keeps first in pg_hba.conf (first match wins)."""
    rules = [("local", DATABASE, GATEWAY_ROLE, "", f"peer map={IDENT_MAP}")]
    rules += [("host", DATABASE, GATEWAY_ROLE, address, "scram-sha-256") for address in ("127.0.0.1/32", "::1/128")]
    rules += [("local", "all", role_of(daemon), "", "reject") for daemon in DAEMON_GROUPS]
    rules += [("host", "all", role_of(daemon), "all", "reject") for daemon in DAEMON_GROUPS]
    lines = [BLOCK_BEGIN,
             "# FerretDB's gateway role: over TCP on loopback with SCRAM, and on the local socket",
             "# for the server's own processes (DocumentDB connecting back, OS user postgres). The",
             "# daemons' roles are FerretDB identities only and never connect to PostgreSQL."]
    lines += ["{:<7} {:<9} {:<20} {:<14} {}".format(*rule).rstrip() for rule in rules]
    lines.append(BLOCK_END)
    return lines


def ident_block():
    """The user map the local rule above names: OS user postgres may connect as the gateway role."""
    return [BLOCK_BEGIN, f"{IDENT_MAP:<20} postgres        {GATEWAY_ROLE}", BLOCK_END]


def _without_block(lines):
    """The lines with our block (and the blank line written after it) taken out, and where it was."""
    if BLOCK_BEGIN in lines and BLOCK_END in lines[lines.index(BLOCK_BEGIN):]:
        start = lines.index(BLOCK_BEGIN)
        end = lines.index(BLOCK_END, start) + 1
        if end < len(lines) and not lines[end].strip():
            end += 1
        return lines[:start] + lines[end:], start
    return lines, None


def hba_rewrite(text):
    """pg_hba.conf with our block first and no weak method left: (new text, what changed)."""
    rest, _ = _without_block(text.splitlines())
    changes = []
    kept = []
    for line in rest:
        fields = line.split("#", 1)[0].split()
        if fields and fields[0] in ("local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc"):
            method_at = 3 if fields[0] == "local" else 4
            if len(fields) > method_at and fields[method_at] in WEAK_METHODS:
                method = "peer" if fields[0] == "local" else "scram-sha-256"
                fields[method_at] = method
                new = " ".join(fields)
                changes.append(f"pg_hba.conf: {line.strip()!r} -> {new!r}")
                line = new
        kept.append(line)
    # Before the first rule and the comment lines right above it (Debian's "DO NOT DISABLE!").
    at = next((index for index, line in enumerate(kept) if line.split("#", 1)[0].strip()), len(kept))
    while at > 0 and kept[at - 1].lstrip().startswith("#"):
        at -= 1
    new_text = "\n".join(kept[:at] + hba_block() + [""] + kept[at:]) + "\n"
    if new_text != text and not changes:
        changes.append("pg_hba.conf: cardshop-database-setup's rules first")
    return new_text, changes


def ident_rewrite(text):
    """pg_ident.conf with our map at the end (the order of maps does not matter)."""
    rest, _ = _without_block(text.splitlines())
    while rest and not rest[-1].strip():
        rest.pop()
    return "\n".join(rest + [""] + ident_block()) + "\n"


def new_password():
    return "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_LENGTH))


def mongodb_uri(user, password, address=FERRETDB_ADDRESS):
    """A daemon's database.uri_file content."""
    host, port = address
    return (f"mongodb://{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
            f"@{host}:{port}/?authMechanism=SCRAM-SHA-256")


def postgresql_url(user, password, port=PG_PORT):
    """FerretDB's --postgresql-url-file content."""
    return (f"postgres://{urllib.parse.quote(user, safe='')}:{urllib.parse.quote(password, safe='')}"
            f"@127.0.0.1:{port}/{DATABASE}")


def password_in(uri):
    """The password in a URI this command wrote (or an admin did), or None."""
    password = urllib.parse.urlsplit(uri.strip()).password
    return urllib.parse.unquote(password) if password else None


def _hmac(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def scram_keys(password, salt, iterations=SCRAM_ITERATIONS):
    """(StoredKey, ServerKey) of RFC 5802/7677 for SCRAM-SHA-256."""
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return hashlib.sha256(_hmac(salted, "Client Key")).digest(), _hmac(salted, "Server Key")


def scram_verifier(password, salt=None, iterations=SCRAM_ITERATIONS):
    """The value PostgreSQL keeps in pg_authid.rolpassword for this password."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    stored, server = scram_keys(password, salt, iterations)
    encode = lambda raw: base64.b64encode(raw).decode()  # noqa: E731
    return f"SCRAM-SHA-256${iterations}:{encode(salt)}${encode(stored)}:{encode(server)}"


def scram_matches(verifier, password):
    """Whether a role's stored verifier is this password's (same salt and iterations)."""
    match = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", verifier or "")
    if not match:
        return False
    iterations, salt = int(match.group(1)), base64.b64decode(match.group(2))
    return hmac.compare_digest(scram_verifier(password, salt, iterations), verifier)
