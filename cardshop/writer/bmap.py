"""The one place that touches bmaptool's private names, checked at import.

bmaptool's BmapCopy copies only an image's mapped blocks, but has no public
knob for what the writer needs: 4 MiB batches (one O_DIRECT write each), an
fsync every 64 MiB, a progress call after each batch that may raise to stop
the copy (a cancel, a removed card), and a way to end its reader thread
after such a stop. So Copier sets and reads a few of BmapCopy's private
attributes. Were a bmaptool release to rename one, an assignment would
silently create a new attribute nobody reads and cancels would stop
working; instead, importing this module fails with IncompatibleBmaptool,
naming the version and the missing names. Known to work: bmaptools 3.6
(Debian 12) and bmaptool 3.9 (Debian 13).
"""

import importlib.metadata
import queue
import types

try:  # Debian 13 (bmap-tools 3.9) names the package bmaptool; Debian 12 bmaptools
    from bmaptool import BmapCopy as _bmapcopy
except ImportError:  # pragma: no cover - depends on the host's Debian
    from bmaptools import BmapCopy as _bmapcopy

Error = _bmapcopy.Error

# BmapCopy's own code reads these attributes (we set the first three) and calls this method (we override it).
ATTRIBUTES = ("_batch_blocks", "_batch_queue_len", "_dest_fsync_watermark", "_batch_queue")
METHODS = ("_update_progress",)


class IncompatibleBmaptool(ImportError):
    """The installed bmaptool lacks a private name the writer relies on."""


def version():
    for distribution in ("bmaptool", "bmap-tools", "bmap_tools"):
        try:
            return importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "of unknown version"


def missing_names(cls=_bmapcopy.BmapCopy):
    """The names of ATTRIBUTES and METHODS that `cls`'s code does not use or define."""
    used = set()
    for klass in cls.__mro__:
        for member in vars(klass).values():
            code = getattr(member, "__code__", None)
            stack = [code] if code else []
            while stack:  # a method's nested functions and generators too
                code = stack.pop()
                used.update(code.co_names)
                stack += [const for const in code.co_consts if isinstance(const, types.CodeType)]
    return [name for name in ATTRIBUTES if name not in used] + \
        [name for name in METHODS if not callable(getattr(cls, name, None))]


_missing = missing_names()
if _missing:
    raise IncompatibleBmaptool(f"bmaptool {version()} ({_bmapcopy.__file__}) lacks {', '.join(_missing)}: "
                               "the writer's batches, fsyncs and stops would be ignored; cardshop-writer "
                               "needs an update for this bmaptool")


class Copier(_bmapcopy.BmapCopy):
    """BmapCopy with our batch size, fsync rhythm and progress (which may raise to stop the copy)."""

    def __init__(self, image, dest, bmap, progress, batch_bytes, fsync_bytes, batches_ahead=4):
        super().__init__(image, dest, bmap)
        self._batch_blocks = batch_bytes // self.block_size
        self._batch_queue_len = batches_ahead
        self._dest_fsync_watermark = fsync_bytes // self.block_size
        self._on_progress = progress

    def _update_progress(self, blocks_written):
        if self._on_progress:
            self._on_progress(min(blocks_written * self.block_size, self.mapped_size), self.mapped_size)

    def stop_reader(self, image):
        """End bmaptool's reader thread after a stop: its next read fails, it queues the error and quits."""
        image.close()
        while self._batch_queue is not None:
            try:
                if self._batch_queue.get(timeout=5) is None:
                    return
            except queue.Empty:
                return
