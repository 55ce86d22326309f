"""Write an image's mapped blocks onto a card with bmaptool's library, then read them back.

The write: bmaptool's BmapCopy copies only the ranges of the block map, in
4 MiB batches, with an fsync every 64 MiB so that a removed card or a slow
one is noticed soon and a stop never waits minutes on dirty pages. The
source was checked once when it entered the cache, so the per-card source
checksumming is off.

The verification is ours (bmaptool never reads the card back): the same
ranges are read from the card with O_DIRECT (the page cache would answer
with what we wrote) and compared with the cached image; the first byte
that differs is reported.
"""

import mmap
import os
import queue
import xml.etree.ElementTree as ElementTree

try:  # Debian 13 (bmap-tools 3.9) names the package bmaptool; Debian 12 bmaptools
    from bmaptool import BmapCopy as _bmapcopy
except ImportError:  # pragma: no cover - depends on the host's Debian
    from bmaptools import BmapCopy as _bmapcopy

from cardshop.writer.card import open_card

BATCH = 4 * 1024 * 1024
FSYNC_EVERY = 64 * 1024 * 1024


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


class _Copy(_bmapcopy.BmapCopy):
    """BmapCopy with our batch size, fsync watermark and progress (which may raise to stop)."""

    def __init__(self, image, dest, bmap, progress):
        super().__init__(image, dest, bmap)
        self._batch_blocks = BATCH // self.block_size
        self._batch_queue_len = 4
        self._dest_fsync_watermark = FSYNC_EVERY // self.block_size
        self._on_progress = progress

    def _update_progress(self, blocks_written):
        if self._on_progress:
            self._on_progress(min(blocks_written * self.block_size, self.mapped_size), self.mapped_size)


def write(image_path, bmap_path, device, progress=None):
    """Write the mapped blocks of the image onto `device`; returns the bytes written.

    `progress(done, total)` is called after each batch; whatever it raises
    (a cancel, a removed card) stops the copy and is raised again.
    """
    image_size, _ = mapped_ranges(bmap_path)
    fd = open_card(device, os.O_WRONLY)
    try:
        with os.fdopen(fd, "wb", buffering=0, closefd=False) as dest, open(image_path, "rb", buffering=0) as image, \
                open(bmap_path, "r") as bmap:
            dest_size = os.lseek(fd, 0, os.SEEK_END)
            os.lseek(fd, 0, os.SEEK_SET)
            if dest_size and dest_size < image_size:
                raise BurnError(f"the card holds {dest_size} bytes; the image needs {image_size}")
            copier = _Copy(image, dest, bmap, progress)
            try:
                try:
                    copier.copy(sync=True, verify=False)
                except BaseException:
                    _stop_reader(copier, image)
                    raise
            except _bmapcopy.Error as exc:
                raise BurnError(f"write failed: {exc}") from None
            except OSError as exc:
                raise BurnError(f"write failed: {exc.strerror or exc}") from None
            return copier.mapped_size
    finally:
        os.close(fd)


def _stop_reader(copier, image):
    """End bmaptool's reader thread after a stop: its next read fails, it queues the error and quits."""
    image.close()
    while copier._batch_queue is not None:
        try:
            if copier._batch_queue.get(timeout=5) is None:
                return
        except queue.Empty:
            return


def verify(image_path, bmap_path, device, progress=None, chunk=BATCH):
    """Read the mapped ranges back from the card (O_DIRECT) and compare with the image.

    Returns the bytes verified; BurnError with `offset` at the first difference.
    """
    image_size, ranges = mapped_ranges(bmap_path)
    total = sum(end - start for start, end in ranges)
    done = 0
    buffer = mmap.mmap(-1, chunk)  # page-aligned, as O_DIRECT wants
    view = memoryview(buffer)
    card = _open_direct(device)
    try:
        with open(image_path, "rb", buffering=0) as source:
            for start, end in ranges:
                offset = start
                while offset < end:
                    length = min(chunk, end - offset)
                    aligned = -(-length // 4096) * 4096  # O_DIRECT reads whole blocks
                    try:
                        got = os.preadv(card, [view[:aligned]], offset)
                    except OSError as exc:
                        raise BurnError(f"read-back failed at byte {offset}: {exc.strerror}", offset) from None
                    expected = os.pread(source.fileno(), length, offset)
                    if got < length or view[:length] != expected:
                        bad = offset + _first_difference(view[:min(got, length)], expected)
                        raise BurnError(f"verification mismatch at byte {bad}", bad)
                    offset += length
                    done += length
                    if progress:
                        progress(done, total)
    finally:
        view.release()
        buffer.close()
        os.close(card)
    return done


def _open_direct(device):
    try:
        return open_card(device, os.O_RDONLY | os.O_DIRECT)
    except Exception:
        # A file system without O_DIRECT (tests on plain files) reads through the cache.
        if os.path.isfile(device):
            return os.open(device, os.O_RDONLY | os.O_CLOEXEC)
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
