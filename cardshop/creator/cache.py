"""The shared download cache: resumable, verified, size-bounded, safe between concurrent tasks.

An entry is `<key>.data` (complete and verified), `<key>.part` while it
downloads, `<key>.meta` (URL, size, checksum, last use) and `<key>.lock`.
Whoever downloads holds the entry's lock exclusively; users hold it shared
until they have linked the file where they need it, so eviction (which
takes the lock without waiting) never removes a file in use. Locks are
flock(2) locks, so threads and processes share entries alike.
"""

import fcntl
import hashlib
import json
import logging
import os
import time
import urllib.error
import urllib.request

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024


class DownloadError(Exception):
    pass


def _key(url, checksum):
    text = url + "|" + (f"{checksum['algo']}:{checksum['value'].lower()}" if checksum else "")
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def probe(url, timeout=30):
    """The size of what the URL serves, without downloading it."""
    for method, headers in (("HEAD", {}), ("GET", {"Range": "bytes=0-0"})):
        request = urllib.request.Request(url, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as reply:
                if reply.status == 206 and "/" in reply.headers.get("Content-Range", ""):
                    total = reply.headers["Content-Range"].rsplit("/", 1)[1]
                    if total.isdigit():
                        return int(total)
                length = reply.headers.get("Content-Length")
                if method == "HEAD" and length and length.isdigit():
                    return int(length)
        except urllib.error.HTTPError as exc:
            if method == "GET" or exc.code not in (405, 501):
                raise DownloadError(f"{url} answers HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise DownloadError(f"{url} does not answer: {getattr(exc, 'reason', exc)}") from None
    raise DownloadError(f"{url} does not tell its size")


class Entry:
    """A cached file in use: its path stays valid until close()."""

    def __init__(self, path, lock_handle):
        self.path = path
        self._lock = lock_handle

    def close(self):
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Cache:
    def __init__(self, root, max_bytes, timeout=30, attempts=3):
        self.root = root
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.attempts = attempts
        os.makedirs(root, exist_ok=True)

    def _paths(self, key):
        base = os.path.join(self.root, key)
        return base + ".data", base + ".part", base + ".meta", base + ".lock"

    def get(self, url, checksum=None, progress=None, cancel=None):
        """An Entry for the verified file, downloading it (or the rest of it) if needed."""
        data, part, meta, lock_path = self._paths(_key(url, checksum))
        handle = open(lock_path, "a+")
        try:
            self._lock(handle, fcntl.LOCK_SH, cancel)
            if not os.path.exists(data):
                fcntl.flock(handle, fcntl.LOCK_UN)
                self._lock(handle, fcntl.LOCK_EX, cancel)
                if not os.path.exists(data):  # nobody fetched it meanwhile
                    self._download(url, checksum, part, progress, cancel)
                    os.replace(part, data)
                    self.evict()
                fcntl.flock(handle, fcntl.LOCK_SH)  # downgrade: others may use it too
            elif progress:
                size = os.path.getsize(data)
                progress(size, size)
            with open(meta, "w") as out:
                json.dump({"url": url, "checksum": checksum, "size": os.path.getsize(data),
                           "last_used": time.time()}, out)
            return Entry(data, handle)
        except BaseException:
            handle.close()
            raise

    @staticmethod
    def _lock(handle, mode, cancel):
        while True:
            try:
                fcntl.flock(handle, mode | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if cancel is not None:
                    cancel.check()
                time.sleep(0.2)

    def _download(self, url, checksum, part, progress, cancel):
        for attempt in range(1, self.attempts + 1):
            try:
                self._fetch_rest(url, part, progress, cancel)
                break
            except (urllib.error.URLError, OSError, DownloadError) as exc:
                if isinstance(exc, urllib.error.HTTPError) and 400 <= exc.code < 500 and exc.code != 416:
                    raise DownloadError(f"{url} answers HTTP {exc.code}") from None
                if attempt == self.attempts:
                    raise DownloadError(f"download of {url} failed: {getattr(exc, 'reason', exc)}") from None
                log.warning("download of %s interrupted (%s); resuming", url, exc)
                time.sleep(attempt)
        if checksum:
            digest = hashlib.new(checksum["algo"])
            with open(part, "rb") as reader:
                while block := reader.read(CHUNK):
                    digest.update(block)
            if digest.hexdigest() != checksum["value"].lower():
                os.unlink(part)
                raise DownloadError(f"checksum mismatch for {url}: expected {checksum['algo']} "
                                    f"{checksum['value'].lower()}, got {digest.hexdigest()}")

    def _fetch_rest(self, url, part, progress, cancel):
        offset = os.path.getsize(part) if os.path.exists(part) else 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        request = urllib.request.Request(url, headers=headers)
        try:
            reply = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset:  # nothing left: the part is whole
                return
            raise
        with reply:
            if offset and reply.status != 206:
                offset = 0  # the server ignores ranges: start over
            length = reply.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else None
            with open(part, "ab" if offset else "wb") as out:
                done = offset
                while True:
                    if cancel is not None:
                        cancel.check()
                    block = reply.read(CHUNK)
                    if not block:
                        break
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress(done, total or done)
            if total is not None and done < total:
                raise ConnectionResetError(f"connection closed after {done} of {total} bytes")

    def evict(self):
        """Remove least recently used entries until the cache fits, skipping entries in use."""
        entries = []
        for name in os.listdir(self.root):
            if name.endswith(".data"):
                key = name[:-5]
                data, _, meta, _ = self._paths(key)
                try:
                    with open(meta) as handle:
                        last_used = json.load(handle)["last_used"]
                except (OSError, ValueError, KeyError):
                    last_used = 0
                entries.append((last_used, key, os.path.getsize(data)))
        total = sum(size for _, _, size in entries)
        for _, key, size in sorted(entries):
            if total <= self.max_bytes:
                break
            data, _, meta, lock_path = self._paths(key)
            with open(lock_path, "a+") as handle:
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # in use
                for path in (data, meta):
                    if os.path.exists(path):
                        os.unlink(path)
                total -= size
                log.info("evicted %s from the cache (%d bytes)", key, size)
