"""Upload to and download from the warehouse, resuming interrupted transfers.

Uploads go to `<name>.part`, announced with ALLO (so a full disk refuses
before any data flows), resumed with REST from what the server holds, and
renamed to `<name>` once complete. Downloads resume from the local
`<name>.part` the same way.
"""

import ftplib
import os
import ssl
import urllib.parse

BLOCK = 1024 * 1024


class WarehouseError(Exception):
    """`transient`: True when trying again later may work, False when it cannot, None to judge by the cause."""

    def __init__(self, message, transient=None):
        super().__init__(message)
        self.transient = transient


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

                self.ftp.storbinary(f"STOR {part}", handle, BLOCK, tick, rest=offset or None)
            if self.remote_size(part) != size:
                raise WarehouseError(f"upload of {name} ended short; it resumes on the next try", transient=True)
            self.ftp.rename(part, final)
            return final
        except ftplib.all_errors as exc:
            raise WarehouseError(f"upload of {name} failed: {exc}") from exc

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
            size = self.remote_size(self._path(remote_path.lstrip("/")))
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
