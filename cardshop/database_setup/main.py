"""cardshop-database-setup: make this host's PostgreSQL cluster a Cardshop database (run as root).

    cardshop-database-setup            set up what is missing; a second run changes nothing
    cardshop-database-setup --check    only say what is missing or wrong (exit 1 if anything)

What it sets up, on the Debian cluster 17/main (created if missing):
  - conf.d/cardshop.conf: DocumentDB's libraries preloaded (with pg_cron, whose jobs run in
    the postgres database), loopback only, SCRAM password hashes; the cluster is restarted
    only when a setting waits for it;
  - pg_hba.conf: its rules first (FerretDB's role over TCP on loopback with SCRAM; the daemons'
    roles never connect to PostgreSQL), and no trust, password or md5 method left (peer on the
    local socket, SCRAM over TCP instead); pg_cron and DocumentDB connect back to the cluster
    without a password, so they use the local socket: peer, and for FerretDB's role the map
    cardshop_documentdb of pg_ident.conf (OS user postgres only);
  - the documentdb extension (CREATE EXTENSION IF NOT EXISTS documentdb CASCADE), its pg_cron
    jobs (TTL deletes, index builds) connecting over the local socket;
  - the role FerretDB connects as (ferretdb: LOGIN, member of documentdb_admin_role, nothing
    more) and its URL with password in /etc/ferretdb/postgresql-url (root, 0600), which
    ferretdb.service reads as a credential; the service is restarted when that changed;
  - one role per daemon (cardshop_scheduler, cardshop_monitor, cardshop_beat) with a random
    password, as a MongoDB URI in /etc/cardshop/secrets/database-<daemon>.uri (root:group,
    0640) for the daemon's database.uri_file.

Secret files are never replaced: a role's password is set to the one in its file. Passwords
reach PostgreSQL as SCRAM verifiers computed here, never in clear.

Exit codes: 0 done (or, with --check, nothing missing), 1 something is missing (--check) or a
step failed (message printed), 2 bad usage.
"""

import argparse
import os
import sys

from cardshop.database_setup import settings
from cardshop.database_setup.cluster import Host, SetupError

EX_FAILURE = 1
PROG = "cardshop-database-setup"
FERRETDB_URL_MODE, DAEMON_URI_MODE = 0o600, 0o640


def _parser():
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only report what is missing (exit 1 if anything)")
    parser.add_argument("--secrets-dir", default="/etc/cardshop/secrets", help="where the daemons' URIs go")
    parser.add_argument("--ferretdb-url-file", default="/etc/ferretdb/postgresql-url",
                        help="FerretDB's PostgreSQL URL secret")
    return parser


def _secrets(host):
    """(role, secret path, group, mode, render(password)) for FerretDB's role and each daemon's."""
    port = settings.PG_PORT
    yield (settings.GATEWAY_ROLE, host.ferretdb_url_file, "root", FERRETDB_URL_MODE,
           lambda password: settings.postgresql_url(settings.GATEWAY_ROLE, password, port) + "\n")
    for daemon, group in settings.DAEMON_GROUPS.items():
        role = settings.role_of(daemon)
        yield (role, host.daemon_secret(daemon), group, DAEMON_URI_MODE,
               lambda password, role=role: settings.mongodb_uri(role, password) + "\n")


def check(host):
    """What is missing or wrong, as sentences (empty: nothing)."""
    problems = []
    if not host.cluster_exists():
        return [f"the cluster {host.pg_version}/{host.cluster} does not exist"]
    if not host.includes_conf_d():
        problems.append(f"{host.config_dir}/postgresql.conf does not include conf.d")
    if host.read(host.snippet) != settings.conf_snippet():
        problems.append(f"{host.snippet} is missing or differs")
    hba = host.read(host.hba) or ""
    if settings.hba_rewrite(hba)[0] != hba:
        problems.append(f"{host.hba} lacks cardshop-database-setup's rules or has a weak method "
                        f"({'/'.join(sorted(settings.WEAK_METHODS))})")
    if (host.read(host.ident) or "") != settings.ident_rewrite(host.read(host.ident) or ""):
        problems.append(f"{host.ident} lacks the map {settings.IDENT_MAP}")
    for _, path, group, mode, _ in _secrets(host):
        problem = host.secret_problem(path, group, mode)
        if problem:
            problems.append(problem)
    if not host.cluster_running():
        return problems + [f"the cluster {host.pg_version}/{host.cluster} is not running"]
    running = host.running_settings()
    for name, value in settings.SETTINGS:
        if running.get(name) != value:
            problems.append(f"the cluster runs with {name} = {running.get(name)!r}, not {value!r}")
    if not host.has_extension():
        problems.append("the documentdb extension is not created in the postgres database")
    elif host.cron_jobs_off_socket():
        problems.append(f"pg_cron jobs {', '.join(host.cron_jobs_off_socket())} connect over TCP, "
                        f"not over the socket (they fail there: postgres has no password)")
    roles = host.roles()
    for role, path, _, _, _ in _secrets(host):
        if role not in roles:
            problems.append(f"the role {role} does not exist")
            continue
        password = settings.password_in(host.read(path) or "") if os.access(path, os.R_OK) else None
        if password and not settings.scram_matches(roles[role][0], password):
            problems.append(f"the role {role}'s password is not the one in {path}")
    if roles.get(settings.GATEWAY_ROLE) and not roles[settings.GATEWAY_ROLE][2]:
        problems.append(f"the role {settings.GATEWAY_ROLE} is not a member of {', '.join(settings.GATEWAY_GRANTS)}")
    if _systemd() and not _ferretdb_active(host):
        problems.append("ferretdb.service is not running")
    return problems


def setup(host, say):
    """Make the host as check() wants it; say() each change."""
    if not host.cluster_exists():
        host.create_cluster()
        say(f"created the cluster {host.pg_version}/{host.cluster}")
    if not host.includes_conf_d():
        raise SetupError(f"{host.config_dir}/postgresql.conf does not include conf.d: add include_dir = 'conf.d'")
    changed = False
    if host.read(host.snippet) != settings.conf_snippet():
        os.makedirs(os.path.dirname(host.snippet), exist_ok=True)
        host.write(host.snippet, settings.conf_snippet(), 0o644)
        say(f"wrote {host.snippet}")
        changed = True
    hba = host.read(host.hba) or ""
    new_hba, changes = settings.hba_rewrite(hba)
    if new_hba != hba:
        host.write(host.hba, new_hba, 0o640)
        for change in changes:
            say(change)
        changed = True
    ident = host.read(host.ident) or ""
    if settings.ident_rewrite(ident) != ident:
        host.write(host.ident, settings.ident_rewrite(ident), 0o640)
        say(f"pg_ident.conf: the map {settings.IDENT_MAP}")
        changed = True
    if not host.cluster_running():
        host.pg_ctlcluster("start")
        say(f"started the cluster {host.pg_version}/{host.cluster}")
    elif changed:
        host.pg_ctlcluster("reload")
    pending = host.pending_restart()
    if pending:
        host.pg_ctlcluster("restart")
        say(f"restarted the cluster ({', '.join(sorted(pending))} changed)")
    if not host.has_extension():
        host.create_extension()
        say("created the documentdb extension")
    jobs = host.cron_jobs_off_socket()
    if jobs:
        host.move_cron_jobs_to_socket()
        say(f"pg_cron jobs {', '.join(jobs)} now connect over the local socket")

    roles = host.roles()
    gateway_changed = False
    for role, path, group, mode, render in _secrets(host):
        if host.create_secret(path, render(settings.new_password()), group, mode):
            say(f"wrote {path}")
            gateway_changed |= role == settings.GATEWAY_ROLE
        elif host.secret_problem(path, group, mode):
            host.own_secret(path, group, mode)
            say(f"made {path} root:{group} mode {mode:04o}")
        password = settings.password_in(host.read(path) or "")
        if not password:
            raise SetupError(f"{path} holds no password: remove it to have a new one made")
        gateway = role == settings.GATEWAY_ROLE
        options = settings.GATEWAY_OPTIONS if gateway else settings.DAEMON_OPTIONS
        grants = settings.GATEWAY_GRANTS if gateway else ()
        current = roles.get(role)
        if current is None or not settings.scram_matches(current[0], password) or (gateway and not current[2]):
            host.set_role(role, options, password, create=current is None, grants=grants)
            say(f"{'created' if current is None else 'updated'} the role {role}")
            gateway_changed |= gateway
    _ferretdb(host, say, restart=gateway_changed)


def _systemd():
    return os.path.isdir("/run/systemd/system")


def _ferretdb_active(host):
    return host.run(["systemctl", "is-active", "--quiet", "ferretdb.service"], check=False).returncode == 0


def _ferretdb(host, say, restart):
    """Restart FerretDB when its URL or role changed; start it when it is not running."""
    if not _systemd():
        if restart:
            say("restart ferretdb.service (no systemd running here)")
        return
    action = "restart" if restart else "start" if not _ferretdb_active(host) else None
    if action:
        done = host.run(["systemctl", action, "ferretdb.service"], check=False)
        say(f"{action}ed ferretdb.service"
            if done.returncode == 0
            else f"could not {action} ferretdb.service (exit {done.returncode}): see journalctl -u ferretdb")


def main(argv=None):
    args = _parser().parse_args(argv)
    host = Host(secrets_dir=args.secrets_dir, ferretdb_url_file=args.ferretdb_url_file)
    try:
        if args.check:
            problems = check(host)
            for problem in problems:
                print(f"missing: {problem}")
            return EX_FAILURE if problems else 0
        if os.geteuid() != 0:
            raise SetupError("run it as root")
        setup(host, lambda message: print(message, flush=True))
    except SetupError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EX_FAILURE
    return 0
