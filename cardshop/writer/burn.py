"""Write an image's mapped blocks onto a card with bmaptool's library, then read them back.

The write: bmaptool's BmapCopy copies only the ranges of the block map, in
4 MiB batches written with O_DIRECT from an aligned buffer (no page cache:
a removed card or a slow one is noticed at once, a stop never waits minutes
on dirty pages), with an fsync every 64 MiB for the card's own cache. The
source was checked once when it entered the cache, so the per-card source
checksumming is off.

The verification is ours (bmaptool never reads the card back): the same
ranges are read from the card with O_DIRECT (the page cache would answer
with what we wrote) and compared with the cached image; the first byte
that differs is reported.
"""

import concurrent.futures
import errno
import mmap
import os
import xml.etree.ElementTree as ElementTree

from cardshop.writer import bmap
from cardshop.writer.card import open_card

BATCH = 4 * 1024 * 1024
FSYNC_EVERY = 64 * 1024 * 1024
ALIGN = 4096  # O_DIRECT: buffer, offset and length in whole logical blocks


class BurnError(Exception):
    """Writing or verifying the card failed; `offset` is the first bad byte when known."""

    def __init__(self, message, offset=None):
        super().__init__(message)
        self.offset = offset


def mapped_ranges(bmap_path):
    """(image_size, [(first byte, end byte)...]) of the block map's ranges."""
    try:
        root = ElementTree.parse(bmap_path).getroot()
        block = int(root.findtext("BlockSize"))
        image_size = int(root.findtext("ImageSize"))
        ranges = []
        for element in root.find("BlockMap").findall("Range"):
            first, _, last = element.text.strip().partition("-")
            first = int(first)
            last = int(last) if last.strip() else first
            ranges.append((first * block, min((last + 1) * block, image_size)))
    except (OSError, ElementTree.ParseError, AttributeError, TypeError, ValueError) as exc:
        raise BurnError(f"unreadable block map {os.path.basename(bmap_path)}: {exc}") from None
    return image_size, ranges


class _DirectCard:
    """The card as bmaptool's destination file: each batch copied into one aligned buffer and written
    with O_DIRECT (large aligned writes, no page cache to flush); the tail padded to a whole block."""

    def __init__(self, fd, name):
        self.fd, self.name = fd, name
        self.position = 0
        self.buffer = mmap.mmap(-1, BATCH)

    def fileno(self):
        return self.fd

    def seek(self, offset, whence=os.SEEK_SET):
        self.position = os.lseek(self.fd, offset, whence) if whence != os.SEEK_SET else offset
        return self.position

    def write(self, data):
        length = len(data)
        aligned = -(-length // ALIGN) * ALIGN
        if aligned > len(self.buffer):
            self.buffer.close()
            self.buffer = mmap.mmap(-1, aligned)
        self.buffer[:length] = data
        self.buffer[length:aligned] = bytes(aligned - length)
        with memoryview(self.buffer) as view:
            written = os.pwritev(self.fd, [view[:aligned]], self.position)
        if written < length:
            raise OSError(errno.EIO, f"short write at byte {self.position}")
        self.position += length
        return length

    def flush(self):
        pass

    def close(self):
        self.buffer.close()


def write(image_path, bmap_path, device, progress=None):
    """Write the mapped blocks of the image onto `device`; returns the bytes written.

    `progress(done, total)` is called after each batch; whatever it raises
    (a cancel, a removed card) stops the copy and is raised again.
    """
    image_size, _ = mapped_ranges(bmap_path)
    fd = _open_direct(device, os.O_WRONLY)
    dest = _DirectCard(fd, device)
    try:
        dest_size = os.lseek(fd, 0, os.SEEK_END)
        if dest_size and dest_size < image_size:
            raise BurnError(f"the card holds {dest_size} bytes; the image needs {image_size}")
        with open(image_path, "rb", buffering=0) as image, open(bmap_path, "r") as bmap_file:
            copier = bmap.Copier(image, dest, bmap_file, progress, BATCH, FSYNC_EVERY)
            try:
                try:
                    copier.copy(sync=True, verify=False)
                except BaseException:
                    copier.stop_reader(image)
                    raise
            except bmap.Error as exc:
                raise BurnError(f"write failed: {exc}") from None
            except OSError as exc:
                raise BurnError(f"write failed: {exc.strerror or exc}") from None
            return copier.mapped_size
    finally:
        dest.close()
        os.close(fd)


def _chunks(ranges, chunk):
    for start, end in ranges:
        for offset in range(start, end, chunk):
            yield offset, min(chunk, end - offset)


def verify(image_path, bmap_path, device, progress=None, chunk=BATCH):
    """Read the mapped ranges back from the card (O_DIRECT) and compare with the image.

    The card's next chunk is read (in a thread: the read releases the GIL)
    while the current one is compared, so the card never waits on us.
    Returns the bytes verified; BurnError with `offset` at the first difference.
    """
    _, ranges = mapped_ranges(bmap_path)
    total = sum(end - start for start, end in ranges)
    done = 0
    buffers = [mmap.mmap(-1, chunk) for _ in range(2)]  # page-aligned, as O_DIRECT wants
    views = [memoryview(buffer) for buffer in buffers]
    card = _open_direct(device)

    def read(index, offset, length):
        aligned = -(-length // ALIGN) * ALIGN  # O_DIRECT reads whole blocks
        try:
            return os.preadv(card, [views[index][:aligned]], offset)
        except OSError as exc:
            raise BurnError(f"read-back failed at byte {offset}: {exc.strerror}", offset) from None

    plan = list(_chunks(ranges, chunk))
    try:
        with open(image_path, "rb", buffering=0) as source, \
                concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="read-back") as reader:
            pending = reader.submit(read, 0, *plan[0]) if plan else None
            for number, (offset, length) in enumerate(plan):
                got = pending.result()
                if number + 1 < len(plan):
                    pending = reader.submit(read, (number + 1) % 2, *plan[number + 1])
                view = views[number % 2]
                expected = os.pread(source.fileno(), length, offset)
                # bytes == bytes is one memcmp; a memoryview compares element by element (25 × slower).
                if got < length or bytes(view[:length]) != expected:
                    bad = offset + _first_difference(view[:min(got, length)], expected)
                    raise BurnError(f"verification mismatch at byte {bad}", bad)
                done += length
                if progress:
                    progress(done, total)
            pending = None
    finally:
        if pending is not None:  # a stop mid-way: let the read in flight finish before its buffer goes
            concurrent.futures.wait([pending])
        for view in views:
            view.release()
        for buffer in buffers:
            buffer.close()
        os.close(card)
    return done


def _open_direct(device, flags=os.O_RDONLY):
    try:
        return open_card(device, flags | os.O_DIRECT)
    except Exception:
        # A file system without O_DIRECT (tests on plain files) goes through the page cache.
        if os.path.isfile(device):
            return os.open(device, flags | os.O_CLOEXEC)
        raise


def _first_difference(got, expected):
    """Index of the first differing byte (the length of the shorter when one is a prefix)."""
    step = 4096
    for base in range(0, min(len(got), len(expected)), step):
        if got[base:base + step] != expected[base:base + step]:
            for index in range(base, min(base + step, len(got), len(expected))):
                if got[index] != expected[index]:
                    return index
    return min(len(got), len(expected))
