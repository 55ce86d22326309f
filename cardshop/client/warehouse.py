"""Upload to and download from the warehouse, resuming interrupted transfers.

Uploads go to `<name>.part`, announced with ALLO (so a full disk refuses
before any data flows), resumed with REST from what the server holds, and
renamed to `<name>` once complete. Downloads resume from the local
`<name>.part` the same way.

Space refusals: the one reply format both sides read (the server writes it
with `full_reply` and `too_small_reply`; the prose after the numbers is for
people and may change):

    452 Warehouse full: needed=<bytes> free=<bytes>. <prose>
        no room now; room comes back as ended orders' folders are deleted,
        so it is transient (WarehouseFull). `needed`: the bytes the upload
        still has to store (0 when it announced no size); `free`: what the
        disk takes beyond its reserve. Sent for an ALLO that does not fit,
        and for a STOR stopped by the disk filling up mid-way (the server
        then drops the data connection; the reply still comes on the
        control connection, and the client reads it before judging).
    552 Warehouse too small: needed=<bytes> capacity=<bytes>. <prose>
        the upload is larger than the whole disk beyond its reserve: it
        can never fit, so it is final (WarehouseTooSmall).
"""

import ftplib
import io
import os
import re
import ssl
import urllib.parse

BLOCK = 1024 * 1024
REPLY_WAIT = 5  # seconds to wait for the reply that explains a dropped transfer
_FULL = re.compile(r"^452 Warehouse full: needed=(\d+) free=(\d+)\.")
_TOO_SMALL = re.compile(r"^552 Warehouse too small: needed=(\d+) capacity=(\d+)\.")


class WarehouseError(Exception):
    """`transient`: True when trying again later may work, False when it cannot, None to judge by the cause."""

    def __init__(self, message, transient=None):
        super().__init__(message)
        self.transient = transient


class WarehouseFull(WarehouseError):
    """No room in the warehouse for now; `state` and `detail` tell cardshop.faults.Retry what to say."""

    state = "full"

    def __init__(self, needed, free):
        self.needed, self.free = needed, free
        self.detail = f"{needed} bytes needed, {free} free"
        super().__init__(f"warehouse full: {self.detail}", transient=True)


class WarehouseTooSmall(WarehouseError):
    """The upload is larger than the warehouse disk can ever hold."""

    def __init__(self, needed, capacity):
        self.needed, self.capacity = needed, capacity
        super().__init__(f"the warehouse disk can never hold the upload: {needed} bytes needed, {capacity} "
                         f"is all it has beyond its reserve", transient=False)


def full_reply(needed, free, prose):
    return f"452 Warehouse full: needed={needed} free={free}. {prose}"


def too_small_reply(needed, capacity):
    return (f"552 Warehouse too small: needed={needed} capacity={capacity}. "
            f"The upload is larger than the whole disk beyond its reserve.")


def space_refusal(reply):
    """The typed error a space refusal (the format above) stands for, or None for any other reply."""
    if match := _FULL.match(reply):
        return WarehouseFull(int(match[1]), int(match[2]))
    if match := _TOO_SMALL.match(reply):
        return WarehouseTooSmall(int(match[1]), int(match[2]))
    return None


class WarehouseClient:
    def __init__(self, url, username, token, ca_file=None, timeout=60):
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("ftp", "ftps"):
            raise WarehouseError(f"warehouse URL must be ftp:// or ftps://, got {url!r}", transient=False)
        self.tls = parsed.scheme == "ftps"
        self.host, self.port = parsed.hostname, parsed.port or 21
        self.base = parsed.path.rstrip("/")
        self.username, self.token = username, token
        self.ca_file = ca_file
        self.timeout = timeout
        self.ftp = None

    @property
    def url(self):
        return f"{'ftps' if self.tls else 'ftp'}://{self.host}:{self.port}{self.base}/"

    def __enter__(self):
        self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    def connect(self):
        try:
            if self.tls:
                context = ssl.create_default_context(cafile=self.ca_file)
                self.ftp = ftplib.FTP_TLS(context=context, timeout=self.timeout)
            else:
                self.ftp = ftplib.FTP(timeout=self.timeout)
            self.ftp.connect(self.host, self.port)
            self.ftp.login(self.username, self.token)
            if self.tls:
                self.ftp.prot_p()
        except ftplib.all_errors as exc:
            self.close()
            raise WarehouseError(f"cannot log into the warehouse at {self.host}:{self.port}: {exc}") from exc

    def close(self):
        """Say goodbye if a session is open; whatever its state, the socket ends closed."""
        ftp, self.ftp = self.ftp, None
        if ftp is None:
            return
        try:
            if ftp.sock is not None:  # never connected, or already dropped: nothing to say
                ftp.quit()
        except ftplib.all_errors:
            pass
        finally:
            ftp.close()

    def _path(self, *parts):
        return "/".join([self.base, *parts]) or "/"

    def remote_size(self, path):
        try:
            self.ftp.voidcmd("TYPE I")
            return self.ftp.size(path)
        except ftplib.error_perm:
            return None

    def size_of(self, remote_path):
        """The size of `remote_path` (under the warehouse URL's folder); None when it is not there."""
        return self.remote_size(self._path(remote_path.lstrip("/")))

    def read(self, remote_path, limit):
        """The content of the small file `remote_path`; WarehouseError (not transient) past `limit` bytes."""
        held = io.BytesIO()

        def keep(block):
            if held.tell() + len(block) > limit:
                raise WarehouseError(f"{remote_path} is larger than {limit} bytes", transient=False)
            held.write(block)

        self.ftp.retrbinary(f"RETR {self._path(remote_path.lstrip('/'))}", keep)
        return held.getvalue()

    def upload(self, local_path, folder, name=None, progress=None):
        """Upload a file into `folder` (created if needed); returns its remote path."""
        name = name or os.path.basename(local_path)
        size = os.path.getsize(local_path)
        directory = self._path(folder)
        try:
            try:
                self.ftp.mkd(directory)
            except ftplib.error_perm as exc:
                if not str(exc).startswith("550"):
                    raise
            part, final = f"{directory}/{name}.part", f"{directory}/{name}"
            offset = self.remote_size(part) or 0
            if offset > size:
                self.ftp.delete(part)
                offset = 0
            self.ftp.sendcmd(f"ALLO {size - offset}")
            with open(local_path, "rb") as handle:
                handle.seek(offset)
                sent = [offset]

                def tick(block):
                    sent[0] += len(block)
                    if progress:
                        progress(sent[0], size)

                self._store(f"STOR {part}", handle, tick, offset)
            if self.remote_size(part) != size:
                raise WarehouseError(f"upload of {name} ended short; it resumes on the next try", transient=True)
            self.ftp.rename(part, final)
            return final
        except ftplib.all_errors as exc:
            raise space_refusal(str(exc)) or WarehouseError(f"upload of {name} failed: {exc}") from exc

    def _store(self, command, handle, callback, offset):
        """STOR; a data connection the server dropped is explained by its reply, when that is a space refusal."""
        try:
            self.ftp.storbinary(command, handle, BLOCK, callback, rest=offset or None)
        except (OSError, EOFError) as exc:
            refusal = space_refusal(self._pending_reply())
            if refusal is None:
                raise
            raise refusal from exc

    def _pending_reply(self):
        """The reply waiting on the control connection, or "" when none comes (the session ends after)."""
        try:
            self.ftp.sock.settimeout(REPLY_WAIT)
            return self.ftp.getresp()
        except ftplib.Error as exc:
            return str(exc)
        except (OSError, EOFError, AttributeError):  # AttributeError: the control socket is gone too
            return ""

    def delete_folder(self, folder):
        """Delete a task folder and its files; False when it was not there."""
        directory = self._path(folder)
        try:
            names = self.ftp.nlst(directory)
        except ftplib.error_perm:
            return False
        try:
            for name in names:
                self.ftp.delete(name if name.startswith("/") else f"{directory}/{name}")
            self.ftp.rmd(directory)
        except ftplib.all_errors as exc:
            raise WarehouseError(f"cannot delete {directory}: {exc}") from exc
        return True

    def download(self, remote_path, local_path, progress=None):
        """Download to local_path, resuming from local_path + '.part'."""
        part = local_path + ".part"
        try:
            size = self.size_of(remote_path)
            if size is None:
                raise WarehouseError(f"no {remote_path} in the warehouse", transient=False)
            offset = os.path.getsize(part) if os.path.exists(part) else 0
            if offset > size:
                offset = 0
            with open(part, "ab" if offset else "wb") as handle:
                received = [offset]

                def write(block):
                    handle.write(block)
                    received[0] += len(block)
                    if progress:
                        progress(received[0], size)

                if offset < size:
                    self.ftp.retrbinary(f"RETR {self._path(remote_path.lstrip('/'))}", write, BLOCK,
                                        rest=offset or None)
            if os.path.getsize(part) != size:
                raise WarehouseError(f"download of {remote_path} ended short; it resumes on the next try",
                                     transient=True)
            os.replace(part, local_path)
            return local_path
        except ftplib.all_errors as exc:
            raise WarehouseError(f"download of {remote_path} failed: {exc}") from exc
