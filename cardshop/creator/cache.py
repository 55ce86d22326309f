"""The shared download cache: resumable, verified, size-bounded, safe between concurrent tasks.

A download never grows past the size its server announced when probed
(preflight's figure); URLs are fetched through cardshop.creator.fetch. A
failed download is not retried here: the caller's faults.Retry calls get()
again, which resumes from what was fetched.

An entry is `<key>.data` (complete and verified), `<key>.part` while it
downloads, `<key>.meta` (URL, size, checksum, last use) and `<key>.lock`.
Whoever downloads holds the entry's lock exclusively; users hold it shared
until they have linked the file where they need it, so eviction (which
takes the lock without waiting) never removes a file in use. Locks are
flock(2) locks, so threads and processes share entries alike.
"""

import fcntl
import hashlib
import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request

from cardshop.creator import fetch

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024


class DownloadError(Exception):
    """A download that failed; `transient` says whether trying later may work (None: its cause says)."""

    def __init__(self, message, transient=None):
        super().__init__(message)
        self.transient = transient


def _failure(message, exc):
    """A DownloadError for `exc`, chained to it unless its text is the remote side's.

    Raise it outside the `except` block, so a hidden cause does not linger as context.
    """
    words, transient = fetch.describe(exc)
    error = DownloadError(f"{message}: {words}", transient)
    error.__cause__ = fetch.safe_cause(exc)
    return error


def _key(url, checksum):
    text = url + "|" + (f"{checksum['algo']}:{checksum['value'].lower()}" if checksum else "")
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def probe(url, timeout=30, opener=None):
    """The size of what the URL serves, without downloading it."""
    opener = opener or fetch.opener()
    for method, headers in (("HEAD", {}), ("GET", {"Range": "bytes=0-0"})):
        request = urllib.request.Request(url, method=method, headers=headers)
        failure = None
        try:
            with opener.open(request, timeout=timeout) as reply:
                if reply.status == 206 and "/" in reply.headers.get("Content-Range", ""):
                    total = reply.headers["Content-Range"].rsplit("/", 1)[1]
                    if total.isdigit():
                        return int(total)
                length = reply.headers.get("Content-Length")
                if method == "HEAD" and length and length.isdigit():
                    return int(length)
        except urllib.error.HTTPError as exc:
            if method == "GET" or exc.code not in (405, 501):
                failure = _failure(url, exc)
        except fetch.FetchError as exc:  # the creator's own refusal (fetch policy), not the server's silence
            failure = _failure(f"{url} is not fetched", exc)
        except (http.client.HTTPException, OSError) as exc:
            failure = _failure(f"{url} does not answer", exc)
        if failure is not None:
            raise failure
    raise DownloadError(f"{url} does not tell its size", transient=False)


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

    def discard(self):
        """Drop the file from the cache (its content proved unusable) unless another task uses it too."""
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        for path in (self.path, self.path.removesuffix(".data") + ".meta"):
            if os.path.exists(path):
                os.unlink(path)
        log.info("dropped %s from the cache", self.path)
        self.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Cache:
    """`allow`: the creator's fetch_allow entries (see cardshop.creator.fetch.Policy)."""

    def __init__(self, root, max_bytes, timeout=30, allow=()):
        self.root = root
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.opener = fetch.opener(allow)
        os.makedirs(root, exist_ok=True)

    def _paths(self, key):
        base = os.path.join(self.root, key)
        return base + ".data", base + ".part", base + ".meta", base + ".lock"

    def get(self, url, checksum=None, progress=None, cancel=None, size=None):
        """An Entry for the verified file, downloading it (or the rest of it) if needed.

        `size` is what preflight was told (probed again when not given): the
        download stops with an error as soon as the server sends more.
        """
        data, part, meta, lock_path = self._paths(_key(url, checksum))
        handle = open(lock_path, "a+")
        try:
            self._lock(handle, fcntl.LOCK_SH, cancel)
            if not os.path.exists(data):
                fcntl.flock(handle, fcntl.LOCK_UN)
                self._lock(handle, fcntl.LOCK_EX, cancel)
                if not os.path.exists(data):  # nobody fetched it meanwhile
                    if size is None:
                        size = probe(url, self.timeout, self.opener)
                    self._download(url, checksum, part, progress, cancel, size)
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

    def _download(self, url, checksum, part, progress, cancel, size):
        # No retry here: the task's faults.Retry calls get() again, which resumes from the .part.
        try:
            self._fetch_rest(url, part, progress, cancel, size)
            failure = None
        except (fetch.FetchError, http.client.HTTPException, OSError) as exc:
            failure = _failure(f"download of {url} failed", exc)
        if failure is not None:
            raise failure
        if checksum:
            digest = hashlib.new(checksum["algo"])
            with open(part, "rb") as reader:
                while block := reader.read(CHUNK):
                    digest.update(block)
            if digest.hexdigest() != checksum["value"].lower():
                os.unlink(part)
                raise DownloadError(f"checksum mismatch for {url}: expected {checksum['algo']} "
                                    f"{checksum['value'].lower()}, got {digest.hexdigest()}", transient=False)

    def _fetch_rest(self, url, part, progress, cancel, size):
        offset = os.path.getsize(part) if os.path.exists(part) else 0
        if offset > size:  # left by an earlier, bigger answer
            offset = 0
        headers = {"Range": f"bytes={offset}-"} if offset else {}
        request = urllib.request.Request(url, headers=headers)
        try:
            reply = self.opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and offset:  # nothing left: the part is whole
                return
            raise
        with reply:
            if offset and reply.status != 206:
                offset = 0  # the server ignores ranges: start over
            length = reply.headers.get("Content-Length")
            total = offset + int(length) if length and length.isdigit() else None
            done = offset
            too_large = total is not None and total > size
            with open(part, "ab" if offset else "wb") as out:
                while not too_large:
                    if cancel is not None:
                        cancel.check()
                    block = reply.read(min(CHUNK, size - done + 1))
                    if not block:
                        break
                    if done + len(block) > size:
                        too_large = True
                        break
                    out.write(block)
                    done += len(block)
                    if progress:
                        progress(done, total or size)
            if too_large:
                os.unlink(part)
                raise DownloadError(f"{url} sends more than the {size} bytes it announced; download stopped",
                                    transient=False)
            if total is not None and done < total:
                raise DownloadError(f"connection closed after {done} of {total} bytes", transient=True)

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
