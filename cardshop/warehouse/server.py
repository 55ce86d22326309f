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
- an upload announced with ALLO that would not fit the disk now (with the
  configured reserve) is refused before any data flows (452 "Warehouse
  full", a "try later": space comes back as old folders go), one larger
  than the whole disk beyond its reserve for good (552 "Warehouse too
  small"); while data flows, a STOR stops at its ALLO size (552) and when
  the disk reaches the reserve or is full (452 "Warehouse full"). Space
  refusals carry their numbers in the format cardshop.client.warehouse
  documents and parses;
- write rights are not frozen at login: a write command re-asks the
  scheduler once the cached answer is older than the identity cache window,
  so a disabled user or an ended task loses them on an open connection;
- while the scheduler is unreachable, logins (and writes whose cached
  answer aged out) get 421 "try later" and the connection closes; answers
  still in the cache keep serving. Nothing to recover: the next login asks
  again;
- a connection has `ftp.login_timeout` seconds to log in, and only so many
  wait for their login at once, from one address and overall
  (cardshop.warehouse.logins): idle connections cannot hold the warehouse
  shut for the workers.

Each connection has its own thread, so checking a login with the scheduler
never holds up other transfers.
"""

import contextlib
import errno
import logging
import os
import re
import socket

from pyftpdlib.authorizers import AuthenticationFailed
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import ThreadedFTPServer

from cardshop.auth import roles
from cardshop.client.warehouse import full_reply, too_small_reply
from cardshop.validation import ID_PATTERN
from cardshop.warehouse.identity import IdentityError
from cardshop.warehouse.logins import WaitingRoom

log = logging.getLogger(__name__)

_TASK_DIR = re.compile(ID_PATTERN)
READ_PERMS = "elr"
WRITE_PERMS = "adfmw"  # APPE, DELE, RNFR/RNTO, MKD, STOR
DELETE_PERMS = "d"  # DELE, RMD
RESERVE_CHECK_BYTES = 1024 * 1024  # how often (in bytes written) a STOR looks at the free space


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
            if exc.transient:
                raise  # the handler answers 421: a worker tries again later
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
        """Reads as logged in; writes with the scheduler's current word (cached for the window)."""
        session = self._sessions.get(username)
        if session is None:
            return False
        if path is not None and os.path.commonpath([os.path.realpath(path), self.root]) != self.root:
            return False
        if perm in READ_PERMS:
            return True
        identity = self._current(username, session[0])
        if identity is None:
            return False
        if identity["role"] == roles.SYSTEM:
            return perm in DELETE_PERMS and path is not None and self._task_of(path) is not None
        if identity["role"] != roles.CREATOR or path is None:
            return False
        task = self._task_of(path)
        if task is None:
            return False
        if task in identity.get("tasks", []):
            return True
        # The task may have been claimed after the answer was cached: ask again once.
        identity = self._current(username, session[0], fresh=True)
        return identity is not None and task in identity.get("tasks", [])

    def _current(self, username, token, fresh=False):
        """The identity behind the session's token now, or None once it grants nothing.

        A transient IdentityError (the scheduler is away) passes: the handler answers 421.
        """
        try:
            identity = self.identities.identify(username, token, fresh=fresh)
        except IdentityError as exc:
            if exc.transient:
                raise
            log.info("%s lost its write rights: %s", username, exc)
            return None
        self._sessions[username] = (token, identity)
        return identity


def _free_bytes(path):
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def _disk_bytes(path):
    """The whole disk as an unprivileged user may fill it (root's reserved blocks left out)."""
    stats = os.statvfs(path)
    return (stats.f_blocks - stats.f_bfree + stats.f_bavail) * stats.f_frsize


def _room(root, reserve_bytes):
    return max(0, _free_bytes(root) - reserve_bytes)


class _Allotted:
    """A file being stored: writes stop at the ALLO size (552) or when the disk fills up to its reserve (452).

    The file is unbuffered, so a full disk shows at the write that meets it
    (a buffer's flush at close would come too late to answer). `refusal`
    keeps the reply for the transfer's handle_error; the OSError raised is
    how pyftpdlib learns to abort.
    """

    def __init__(self, file, root, reserve_bytes, allotted):
        self._file, self._root, self._reserve, self._allotted = file, root, reserve_bytes, allotted
        self._written = self._unchecked = 0
        self.refusal = None

    def write(self, data):
        if self._allotted is not None and self._written + len(data) > self._allotted:
            self.refusal = (f"552 The upload goes beyond the {self._allotted} bytes its ALLO announced; "
                            f"transfer aborted.")
            raise OSError(errno.EFBIG, "beyond ALLO")
        self._unchecked += len(data)
        if self._unchecked >= RESERVE_CHECK_BYTES:
            self._unchecked = 0
            if _free_bytes(self._root) - len(data) < self._reserve:
                self._refuse_for_space(len(data))
                raise OSError(errno.ENOSPC, "reserve reached")
        view = memoryview(data)
        try:
            while view:
                count = self._file.write(view)
                self._written += count
                view = view[count:]
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                self._refuse_for_space(len(view))
            raise
        return len(data)

    def _refuse_for_space(self, unwritten):
        needed = self._allotted - self._written if self._allotted is not None else unwritten
        self.refusal = full_reply(needed, _room(self._root, self._reserve),
                                  "The disk filled up to its reserve; transfer aborted, the part stays for a resume.")

    def __getattr__(self, name):
        return getattr(self._file, name)


def _filesystem_class(reserve_bytes):
    class Filesystem(AbstractedFS):
        def open(self, filename, mode):
            if mode.startswith("r") and "+" not in mode:
                return super().open(filename, mode)
            return _Allotted(open(filename, mode, buffering=0), self.root, reserve_bytes,
                             self.cmd_channel.take_allotment())

    return Filesystem


def _handler_class(base, reserve_bytes, login_timeout, waiting_room):
    """pyftpdlib's handler (plain or TLS) with our ALLO, disk reserve, 421 while the scheduler is away,
    and a login deadline and waiting room for connections that have not logged in yet."""

    class Transfer(base.dtp_handler):
        def handle_error(self):
            refusal = getattr(self.file_obj, "refusal", None)
            if refusal is None:
                return super().handle_error()
            log.warning("upload to %s stopped: %s", self.file_obj.name, refusal)
            self._resp = (refusal, log.info)
            self.close()
            return None

    class Handler(base):
        dtp_handler = Transfer
        abstracted_fs = _filesystem_class(reserve_bytes)
        _allotment = None
        _login_deadline = None
        _goodbye = None

        # pyftpdlib runs on_connect, and the timers set there, in the accepting thread.
        def on_connect(self):
            super().on_connect()
            for overflow in waiting_room.enter(self, self.remote_ip):
                overflow.close_waiting("421 Too many connections waiting to log in; closing the oldest.")
            self._login_deadline = self.call_later(login_timeout, self._login_overdue)

        def _login_overdue(self):
            if waiting_room.deadline_passed(self):
                self._close_overdue()

        def _close_overdue(self):
            self.close_waiting(f"421 No login within {login_timeout} seconds.")

        def close_waiting(self, reply):
            """Hang up a connection that did not log in: its own thread wakes, says `reply` and closes it.

            The caller (often the accepting thread) only shuts the socket's input: a TLS connection must
            not be written to from two threads, and one closed from here would leave its thread asleep
            in its poll for up to a second, still counted against max_connections.
            """
            log.info("closing a connection from %s that did not log in: %s", self.remote_ip, reply)
            self._goodbye = reply
            # After AUTH TLS the socket is pyOpenSSL's connection, whose shutdown() is TLS's own.
            shutdown = getattr(self.socket, "sock_shutdown", self.socket.shutdown)
            with contextlib.suppress(OSError):  # gone already
                shutdown(socket.SHUT_RD)

        def handle_close(self):
            goodbye, self._goodbye = self._goodbye, None
            if goodbye is not None:  # before TLS only: pyftpdlib ends a TLS connection without coming here
                self.respond(goodbye)
            super().handle_close()

        def ftp_PASS(self, line):
            if self.username and not self.authenticated:  # only then does pyftpdlib ask the authorizer
                waiting_room.begin_check(self)
            return super().ftp_PASS(line)

        def on_login(self, username):
            waiting_room.leave(self)
            self._login_deadline.cancel()
            super().on_login(username)

        def on_login_failed(self, username, password):
            if waiting_room.end_check(self):
                self._close_overdue()
            super().on_login_failed(username, password)

        def close(self):
            waiting_room.leave(self)
            super().close()  # cancels the login deadline with the connection's other timers

        def take_allotment(self):
            """The size the last ALLO granted, for one upload only."""
            allotment, self._allotment = self._allotment, None
            return allotment

        def pre_process_command(self, line, cmd, arg):
            try:
                return super().pre_process_command(line, cmd, arg)
            except IdentityError as exc:
                if not exc.transient:
                    raise
                self.respond(f"421 {exc}.")
                self.close_when_done()
                return None

        def ftp_ALLO(self, line):
            try:
                size = int(line.split()[0])
            except (IndexError, ValueError):
                self.respond("501 ALLO needs a size in bytes.")
                return
            capacity = max(0, _disk_bytes(self.fs.root) - reserve_bytes)
            room = _room(self.fs.root, reserve_bytes)
            if size > capacity:
                self.respond(too_small_reply(size, capacity))
            elif size > room:
                self.respond(full_reply(size, room, "Try later: room comes back as ended orders' folders go."))
            else:
                self._allotment = size
                self.respond(f"200 {size} bytes can be stored.")

        def ftp_STOR(self, file, mode="w"):
            if _free_bytes(self.fs.root) < reserve_bytes:
                needed, self._allotment = self._allotment or 0, None
                self.respond(full_reply(needed, 0, "The disk is at its reserve; try later."))
                return None
            try:
                return super().ftp_STOR(file, mode)
            finally:
                self._allotment = None  # an ALLO covers the next upload only

        def ftp_STOU(self, line):
            self.respond("502 STOU is not offered here; use STOR.")

    return Handler


def make_server(config, identities):
    """A ThreadedFTPServer for the warehouse config (not yet serving)."""
    ftp = config["ftp"]
    root = config["storage"]["root"]
    os.makedirs(root, exist_ok=True)
    tls = config.get("tls")
    base = TLS_FTPHandler if tls else FTPHandler
    handler = _handler_class(base, config["storage"]["reserve_bytes"], ftp["login_timeout"],
                             WaitingRoom(ftp["max_logging_in"], ftp["max_logging_in_per_ip"]))
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
