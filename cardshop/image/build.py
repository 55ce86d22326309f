"""Build a card image without mounting: base partitions, then an ext4 data partition.

    1. a sparse file of the output size;
    2. the base image's bytes up to the end of its last partition, copied
       sparsely (zero blocks become holes);
    3. a data partition after them (4 MiB aligned) to the end of the image;
    4. `mke2fs -d` writes an ext4 file system (label `data`) holding the
       staged files straight into that partition (`-E offset=`).

A base is decompressed through a pipe, never straight into a file, so that
it is bounded: a tiny .zst can expand to terabytes. It stops (and its
decompressor is killed) once it outgrows what the card can hold, a final
failure, or the real bytes it writes outgrow the build disk's room, a
transient one (other builds end, the cache shrinks): the task fails
retryable and the beat tries it again later.
"""

import os
import shutil
import lzma
import tarfile
import zipfile
import zlib

from cardshop.cancellable import CommandError, reading, run
from cardshop.image import layout

BLOCK = 4 * 1024 * 1024
_ZERO = bytes(BLOCK)
BLOCK_COST = 4096  # what a file takes at least in the data partition (a block; its inode aside)
DECOMPRESSORS = {".xz": ["xz", "-dc"], ".gz": ["gzip", "-dc"], ".zst": ["zstd", "-dcq"]}
ARCHIVES = {"tar": "r:", "gztar": "r:gz", "xztar": "r:xz", "bztar": "r:bz2"}


class BuildError(Exception):
    """`archive`: the cached archive at fault, when unpacking it failed for its size.

    `transient` as in cardshop.faults: True when a later try may work (the build disk was full)."""

    def __init__(self, message, archive=None, transient=None):
        super().__init__(message)
        self.archive = archive
        self.transient = transient


def copy_sparse(source, target, length, progress=None, cancel=None):
    """Copy `length` bytes from the start of source onto target, leaving zero blocks as holes."""
    done = 0
    with open(source, "rb") as reader, open(target, "r+b") as writer:
        while done < length:
            if cancel is not None:
                cancel.check()
            block = reader.read(min(BLOCK, length - done))
            if not block:
                break
            if block != _ZERO[:len(block)]:
                writer.seek(done)
                writer.write(block)
            done += len(block)
            if progress:
                progress(done, length)
    return done


def decompress_base(source, target, limit, holder, room, cancel=None):
    """The base image, raw; decompressed (sparsely) into `target` when it ends in .xz, .gz or .zst.

    `limit`: the bytes the image may take, named by `holder` ("a 4 GB card",
    "output.size"); a bigger base fails the build, a raw one before any copy.
    `room`: the real bytes the build disk can still take (zero blocks are holes
    and cost nothing); writing more fails the build, transiently.
    """
    suffix = os.path.splitext(source)[1]
    if suffix not in DECOMPRESSORS:
        size = os.path.getsize(source)
        if size > limit:
            raise BuildError(f"the base image is {size} bytes, more than {holder} holds ({limit} bytes)")
        return source
    done = written = 0
    with reading(DECOMPRESSORS[suffix] + [source]) as pipe, open(target, "wb") as out:
        while block := pipe.read(BLOCK):
            if cancel is not None:
                cancel.check()
            if done + len(block) > limit:
                raise BuildError(f"the base image decompresses to more than {holder} holds ({limit} bytes): "
                                 f"stopped at {done} bytes")
            if block != _ZERO[:len(block)]:
                written += len(block)
                if written > room:
                    raise BuildError(f"the build disk has no room for the decompressed base: {room} bytes free "
                                     f"beyond the margin, stopped at {done} bytes", transient=True)
                out.seek(done)
                out.write(block)
            done += len(block)
        out.truncate(done)  # trailing zero blocks stay a hole
    return target


def _inside(root, path):
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root


class _Budget:
    """Bytes the data tree may still take; an archive that unpacks beyond it fails the build."""

    def __init__(self, limit):
        self.left = limit

    def check(self, size, what, archive=None):
        if self.left is not None and size > self.left:
            raise BuildError(f"{what} holds more than the room left for content ({max(self.left, 0)} bytes); "
                             f"unpacking stopped", archive=archive)

    def charge(self, size, what, archive=None):
        self.check(size, what, archive)
        if self.left is not None:
            self.left -= size


def _unpack(source, target, budget, what, archive):
    with open(target, "wb") as out:
        while block := source.read(BLOCK):
            budget.charge(len(block), what, archive)
            out.write(block)


class _Member:
    """What unpacking needs of a zip or tar member."""

    def __init__(self, name, is_dir, size, open_, mode=None, mtime=None):
        self.name, self.is_dir, self.size, self.open = name, is_dir, size, open_
        self.mode, self.mtime = mode, mtime


def _members(bundle, via):
    if via == "zip":
        return [_Member(info.filename, info.is_dir(), info.file_size, lambda info=info: bundle.open(info))
                for info in bundle.infolist()]
    members = []
    for info in bundle.getmembers():
        if not (info.isfile() or info.isdir()):
            raise BuildError(f"archive member {info.name!r} is not a plain file or folder")
        members.append(_Member(info.name, info.isdir(), info.size, lambda info=info: bundle.extractfile(info),
                               info.mode & 0o755 | 0o600, info.mtime))  # no set-id bits, no writes by others
    return members


def _extract(archive, via, destination, budget, what):
    """Unpack member by member, counting the bytes really written (headers may lie)."""
    os.makedirs(destination, exist_ok=True)
    try:
        with (zipfile.ZipFile(archive) if via == "zip" else tarfile.open(archive, ARCHIVES[via])) as bundle:
            members = _members(bundle, via)
            for member in members:
                if not _inside(destination, os.path.join(destination, member.name)):
                    raise BuildError(f"archive member {member.name!r} would land outside its folder")
            budget.charge(len(members) * BLOCK_COST, what, archive)
            budget.check(sum(member.size for member in members), what, archive)
            for member in members:
                target = os.path.join(destination, member.name)
                if member.is_dir:
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with member.open() as source:
                    _unpack(source, target, budget, what, archive)
                if member.mode is not None:
                    os.chmod(target, member.mode)
                    os.utime(target, (member.mtime, member.mtime))
    except (OSError, EOFError, zipfile.BadZipFile, tarfile.TarError, zlib.error, lzma.LZMAError) as exc:
        raise BuildError(f"cannot unpack {what}: {type(exc).__name__}: {exc}") from exc


def stage_files(files, staging, limit=None):
    """Lay the data partition's tree out under `staging` (hard links, no copies, where possible).

    `files` are recipe entries, each with `local` (a cached file) or `content`.
    `limit` bounds the tree's bytes (preflight's staging_limit); an archive
    that unpacks beyond it raises a BuildError naming the archive (`.archive`).
    """
    budget = _Budget(limit)
    for item in files:
        target = os.path.join(staging, item["to"].removeprefix("/data/"))
        via = item.get("via", "direct")
        if "content" in item:
            budget.charge(len(item["content"].encode()), item["to"])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(item["content"])
        elif via == "direct":
            budget.charge(os.path.getsize(item["local"]), item["to"])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                os.link(item["local"], target)
            except OSError:
                shutil.copyfile(item["local"], target)
        else:
            _extract(item["local"], via, target, budget, item.get("url", item["to"]))


def tree_size(root):
    total, count = 0, 0
    for folder, _, names in os.walk(root):
        for name in names:
            total += os.lstat(os.path.join(folder, name)).st_size
            count += 1
    return total, count


def build_image(output, size, staging, base_raw=None, cancel=None, progress=None, base_name=None):
    """Write the image; returns {"size", "data_offset", "data_size", "base_end"}.

    `base_name` names the base in errors (its URL); the local path otherwise."""
    base_table = None
    base_end = 0
    if base_raw is not None:
        try:
            base_table = layout.base_table(base_raw, base_name)
        except layout.LayoutError as exc:
            raise BuildError(str(exc)) from None
        base_end = layout.used_end(base_table)
        if layout.align_up(base_end) + 16 * 1024 * 1024 > size:
            raise BuildError(f"output size {size} leaves no room for data after the base ({base_end} bytes)")
    with open(output, "wb") as handle:
        handle.truncate(size)
    if base_raw is not None:
        copy_sparse(base_raw, output, base_end, progress, cancel)
    try:
        offset, data_size = layout.add_data_partition(output, base_table, cancel)
        run(["mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "data", "-d", staging,
             # A fresh sparse file is all zeros: inode tables need no zeroing (ext4 does not
             # trust uninitialised ones anyway); the journal is still written in full.
             "-E", f"offset={offset},root_owner=0:0,lazy_itable_init=1,nodiscard",
             output, f"{data_size // 4096}"], cancel)
    except (CommandError, layout.LayoutError) as exc:
        raise BuildError(str(exc)) from None
    return {"size": size, "data_offset": offset, "data_size": data_size, "base_end": base_end}
