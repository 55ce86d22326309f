"""The FTP(S) server: pyftpdlib with scheduler logins and per-role permissions.

Layout under the root: one folder per create task, `/<task id>/`, holding
`<name>.img.zst`, `<name>.bmap` and `<name>.sha256`.

- creators: may create their task's folder and write, rename and resume
  uploads only inside the folders of the tasks they hold;
- writers and admins: read only;
- the system user (the beat) reads, and deletes whole task folders once
  their order has ended;
- nobody leaves the root (pyftpdlib resolves symlinks and `..` and refuses
  paths outside it);
- an upload announced with ALLO that would not fit the disk (with the
  configured reserve) is refused before any data flows (552).

Each connection has its own thread, so checking a login with the scheduler
never holds up other transfers.
"""

import logging
import os
import re

from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from cardshop.auth import roles
from cardshop.validation import ID_PATTERN
from cardshop.warehouse.identity import IdentityError

log = logging.getLogger(__name__)

_TASK_DIR = re.compile(ID_PATTERN)
READ_PERMS = "elr"
WRITE_PERMS = "adfmw"  # APPE, DELE, RNFR/RNTO, MKD, STOR
DELETE_PERMS = "d"  # DELE, RMD


class SchedulerAuthorizer:
    """pyftpdlib's authorizer interface, answered with the scheduler's word."""

    def __init__(self, identities, root):
        self.identities = identities
        self.root = os.path.realpath(root)
        self._sessions = {}  # username -> (token, identity) of its latest login

    def validate_authentication(self, username, password, handler):
        try:
            identity = self.identities.identify(username, password)
        except IdentityError as exc:
            raise AuthenticationFailed(str(exc)) from None
        if identity["role"] not in (roles.CREATOR, roles.WRITER, roles.ADMIN, roles.SYSTEM):
            raise AuthenticationFailed(f"role {identity['role']} has no use for the warehouse")
        self._sessions[username] = (password, identity)
        log.info("%s (%s) logged in", username, identity["role"])

    def get_home_dir(self, username):
        return self.root

    def impersonate_user(self, username, password):
        pass

    def terminate_impersonation(self, username):
        pass

    def has_user(self, username):
        return username in self._sessions

    def get_perms(self, username):
        role = self._role(username)
        return READ_PERMS + (WRITE_PERMS if role == roles.CREATOR else DELETE_PERMS if role == roles.SYSTEM else "")

    def get_msg_login(self, username):
        return f"Welcome to the Cardshop warehouse, {username}."

    def get_msg_quit(self, username):
        return "Goodbye."

    def _role(self, username):
        session = self._sessions.get(username)
        return session[1]["role"] if session else None

    def _task_of(self, path):
        """The task folder a real path lies in, or None."""
        relative = os.path.relpath(os.path.realpath(path), self.root)
        first = relative.split(os.sep)[0]
        return first if _TASK_DIR.match(first) else None

    def has_perm(self, username, perm, path=None):
        session = self._sessions.get(username)
        if session is None:
            return False
        if path is not None and os.path.commonpath([os.path.realpath(path), self.root]) != self.root:
            return False
        if perm in READ_PERMS:
            return True
        if session[1]["role"] == roles.SYSTEM:
            return perm in DELETE_PERMS and path is not None and self._task_of(path) is not None
        if session[1]["role"] != roles.CREATOR or path is None:
            return False
        task = self._task_of(path)
        if task is None:
            return False
        if task in session[1].get("tasks", []):
            return True
        # The task may have been claimed after the login was cached: ask again once.
        try:
            identity = self.identities.identify(username, session[0], fresh=True)
        except IdentityError:
            return False
        self._sessions[username] = (session[0], identity)
        return task in identity.get("tasks", [])


def _free_bytes(path):
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _handler_class(base, reserve_bytes):
    """pyftpdlib's handler (plain or TLS) with our ALLO and disk reserve."""

    class Handler(base):
        def ftp_ALLO(self, line):
            try:
                size = int(line.split()[0])
            except (IndexError, ValueError):
                self.respond("501 ALLO needs a size in bytes.")
                return
            free = _free_bytes(self.fs.root)
            if size + reserve_bytes > free:
                self.respond(f"552 Not enough space: {size} bytes asked, "
                             f"{max(0, free - reserve_bytes)} available.")
                return
            self.respond(f"200 {size} bytes can be stored.")

        def ftp_STOR(self, file, mode="w"):
            if _free_bytes(self.fs.root) < reserve_bytes:
                self.respond("552 The warehouse disk is full.")
                return None
            return super().ftp_STOR(file, mode)

    return Handler


def make_server(config, identities):
    """A ThreadedFTPServer for the warehouse config (not yet serving)."""
    ftp = config["ftp"]
    root = config["storage"]["root"]
    os.makedirs(root, exist_ok=True)
    tls = config.get("tls")
    base = TLS_FTPHandler if tls else FTPHandler
    handler = _handler_class(base, config["storage"]["reserve_bytes"])
    if tls:
        handler.certfile = tls["cert_file"]
        handler.keyfile = tls["key_file"]
        handler.tls_control_required = True
        handler.tls_data_required = True
    handler.authorizer = SchedulerAuthorizer(identities, root)
    handler.banner = "Cardshop warehouse ready."
    handler.permit_foreign_addresses = False
    handler.permit_privileged_ports = False
    if ftp.get("passive_ports"):
        low, high = ftp["passive_ports"]
        handler.passive_ports = range(low, high + 1)
    if ftp.get("masquerade_address"):
        handler.masquerade_address = ftp["masquerade_address"]
    handler.timeout = ftp["idle_timeout"]
    handler.auth_failed_timeout = 1
    server = ThreadedFTPServer((ftp["listen"], ftp["port"]), handler)
    server.max_cons = ftp["max_connections"]
    server.max_cons_per_ip = ftp["max_connections_per_ip"]
    return server
