"""The host's image cache, shared by its slot processes: each image downloaded and unpacked once.

    <cache_dir>/<sha256>/          one image: image.img (raw, sparse), image.bmap, names, ready
    <cache_dir>/<sha256>.lock      held (flock, exclusive) while the image is fetched or evicted
    <cache_dir>/<sha256>/pin       held (flock, shared) by every slot writing from the image
    <cache_dir>/<sha256>.download/ the compressed image while it comes (resumed after a crash)

The first slot that needs an image takes its lock and fetches it; the others
wait on the lock and find it ready. Locks are flocks, so they work across
the slots' processes and vanish with a killed one. The compressed image is
downloaded with resume, unpacked with `zstd --sparse`, and its SHA-256 is
checked against the warehouse's `.sha256` and the order's; only then is it
marked ready and the compressed file dropped. Space is made by evicting the
least recently used ready images whose pin nobody holds.
"""

import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil

from cardshop.cancellable import CommandError, run

log = logging.getLogger(__name__)

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
READ_BLOCK = 4 * 1024 * 1024


class ImageError(Exception):
    """The image cannot be obtained (bad description, checksum mismatch, no room); `transient` as in faults."""

    def __init__(self, message, transient=None):
        super().__init__(message)
        self.transient = transient


def _flock(path, mode, block=True):
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
    try:
        fcntl.flock(fd, mode | (0 if block else fcntl.LOCK_NB))
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _allocated(path):
    total = 0
    for folder, _, names in os.walk(path):
        for name in names:
            try:
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
            except FileNotFoundError:
                pass
    return total


class CachedImage:
    """A ready image, pinned (not evictable) until closed."""

    def __init__(self, folder, name, sha256, pin_fd):
        self.folder, self.name, self.sha256 = folder, name, sha256
        self.path = os.path.join(folder, "image.img")
        self.bmap = os.path.join(folder, "image.bmap")
        self.size = os.path.getsize(self.path)
        self._pin = pin_fd

    def close(self):
        if self._pin is not None:
            os.close(self._pin)
            self._pin = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ImageCache:
    def __init__(self, folder, max_bytes):
        self.folder = folder
        self.max_bytes = max_bytes
        os.makedirs(folder, exist_ok=True)

    def names(self):
        """Names of the ready images (for the heartbeat: the scheduler prefers a host that holds one).

        Orders whose images are byte-identical share one folder: each name it was asked for is listed."""
        found = []
        for entry in sorted(os.listdir(self.folder)):
            if _SHA256.match(entry) and os.path.exists(os.path.join(self.folder, entry, "ready")):
                found.extend(_names(os.path.join(self.folder, entry)))
        return sorted(set(found))

    def get(self, image, fetch, cancel, progress=None):
        """The pinned CachedImage for the order's `image` (its `sha256`, `image_size`, `compressed_size`).

        `fetch(remote_path, local_path, progress)` downloads one warehouse file
        (resuming from local_path + ".part"). Waits while another slot fetches it.
        """
        sha256 = image.get("sha256")
        if not isinstance(sha256, str) or not _SHA256.match(sha256):
            raise ImageError("the order has no image checksum to write from", transient=False)
        folder = os.path.join(self.folder, sha256)
        lock = _flock(folder + ".lock", fcntl.LOCK_EX)  # the others wait here and share
        try:
            name = _image_name(image)
            if not os.path.exists(os.path.join(folder, "ready")):
                self._make_room(image, sha256)
                self._fetch(image, folder, fetch, cancel, progress)
            known = _names(folder)
            if name not in known:  # the same bytes under another order's name
                with open(os.path.join(folder, "names.new"), "w") as handle:
                    handle.write("".join(f"{each}\n" for each in known + [name]))
                os.replace(os.path.join(folder, "names.new"), os.path.join(folder, "names"))
            pin = _flock(os.path.join(folder, "pin"), fcntl.LOCK_SH)
            os.utime(os.path.join(folder, "ready"))  # most recently used
            return CachedImage(folder, name, sha256, pin)
        finally:
            os.close(lock)

    def _fetch(self, image, folder, fetch, cancel, progress):
        files = image["files"]
        remote = files["image"]
        download = folder + ".download"
        os.makedirs(download, exist_ok=True)
        compressed = os.path.join(download, "image.img.zst")
        if not os.path.exists(compressed):
            fetch(remote, compressed, progress)
        for key, local in (("bmap", "image.bmap"), ("sha256", "image.sha256")):
            if not os.path.exists(os.path.join(download, local)):
                fetch(files[key], os.path.join(download, local), None)
        cancel.check()
        expected = _read(os.path.join(download, "image.sha256")).split()[0:1]
        if expected != [image["sha256"]]:
            raise ImageError(f"the warehouse's {os.path.basename(files['sha256'])} does not match the order's "
                             f"image checksum", transient=False)
        raw = os.path.join(download, "image.img")
        try:
            run(["zstd", "-dqf", "--sparse", compressed, "-o", raw], cancel)
        except CommandError as exc:
            shutil.rmtree(download, ignore_errors=True)  # a corrupt download starts over next time
            raise ImageError(f"cannot unpack {os.path.basename(remote)}: {exc}", transient=False) from None
        digest = _sha256(raw, cancel)
        if digest != image["sha256"]:
            shutil.rmtree(download, ignore_errors=True)
            raise ImageError(f"{os.path.basename(remote)} unpacks to an image whose SHA-256 is {digest}, "
                             f"not {image['sha256']}", transient=False)
        os.unlink(compressed)
        os.unlink(os.path.join(download, "image.sha256"))
        with open(os.path.join(download, "names"), "w") as handle:
            handle.write(_image_name(image) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        os.rename(download, folder)
        with open(os.path.join(folder, "ready"), "w"):
            pass
        log.info("image %s (%s) is in the cache", _image_name(image), image["sha256"][:12])

    def _make_room(self, image, sha256):
        """Evict least recently used images nobody writes from until this one fits."""
        # The unpacked image is sparse: its mapped bytes, plus the compressed file until it is unpacked.
        needed = int(image.get("mapped_size") or image.get("image_size") or 0) + int(image.get("compressed_size") or 0)
        if needed > self.max_bytes:
            raise ImageError(f"the image needs {needed} bytes, more than the whole cache "
                             f"(writer.cache_max_bytes {self.max_bytes})", transient=False)
        used = _allocated(self.folder)
        for other in self._by_last_use():
            if used + needed <= self.max_bytes:
                return
            if other != sha256:
                used -= self._evict(other)
        if used + needed > self.max_bytes:
            raise ImageError("no room in the image cache: every cached image is being written", transient=True)

    def _by_last_use(self):
        entries = []
        for entry in os.listdir(self.folder):
            ready = os.path.join(self.folder, entry, "ready")
            if _SHA256.match(entry) and os.path.exists(ready):
                entries.append((os.stat(ready).st_mtime, entry))
        return [entry for _, entry in sorted(entries)]

    def _evict(self, sha256):
        """Remove one image unless it is being fetched or written; the bytes freed."""
        folder = os.path.join(self.folder, sha256)
        lock = _flock(folder + ".lock", fcntl.LOCK_EX, block=False)
        if lock is None:
            return 0
        try:
            pin = _flock(os.path.join(folder, "pin"), fcntl.LOCK_EX, block=False)
            if pin is None:
                return 0
            os.close(pin)
            freed = _allocated(folder)
            shutil.rmtree(folder, ignore_errors=True)
            log.info("evicted image %s from the cache", sha256[:12])
            return freed
        finally:
            os.close(lock)


def _image_name(image):
    """The order's image name, from its warehouse file (<name>.img.zst)."""
    files = image.get("files") or {}
    if not all(isinstance(files.get(key), str) for key in ("image", "bmap", "sha256")):
        raise ImageError("the order's image lacks its files (image, bmap, sha256)", transient=False)
    return os.path.basename(files["image"]).removesuffix(".zst").removesuffix(".img")


def _names(folder):
    """The names an image folder was asked for; "name" is the single name of a cache written before."""
    return _read(os.path.join(folder, "names")).split() or _read(os.path.join(folder, "name")).split()


def _read(path):
    with contextlib.suppress(OSError), open(path) as handle:
        return handle.read().strip()
    return ""


def _sha256(path, cancel):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(READ_BLOCK):
            digest.update(block)
            cancel.check()
    return digest.hexdigest()

