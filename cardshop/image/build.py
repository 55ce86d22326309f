"""Build a card image without mounting: base partitions, then an ext4 data partition.

    1. a sparse file of the output size;
    2. the base image's bytes up to the end of its last partition, copied
       sparsely (zero blocks become holes);
    3. a data partition after them (4 MiB aligned) to the end of the image;
    4. `mke2fs -d` writes an ext4 file system (label `data`) holding the
       staged files straight into that partition (`-E offset=`).
"""

import os
import shutil
import tarfile
import zipfile

from cardshop.cancellable import CommandError, run
from cardshop.image import layout

BLOCK = 4 * 1024 * 1024
_ZERO = bytes(BLOCK)
DECOMPRESSORS = {".xz": ["xz", "-dc"], ".gz": ["gzip", "-dc"], ".zst": ["zstd", "-dcq"]}
ARCHIVES = {"tar": "r:", "gztar": "r:gz", "xztar": "r:xz", "bztar": "r:bz2"}


class BuildError(Exception):
    pass


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


def decompress_base(source, target, cancel=None):
    """The base image, raw; decompressed (sparsely) when it ends in .xz, .gz or .zst."""
    suffix = os.path.splitext(source)[1]
    if suffix not in DECOMPRESSORS:
        return source
    with open(target, "wb") as out:
        run(DECOMPRESSORS[suffix] + [source], cancel, stdout=out)
    return target


def _inside(root, path):
    real_root = os.path.realpath(root)
    return os.path.commonpath([real_root, os.path.realpath(path)]) == real_root


def _extract(archive, via, destination):
    os.makedirs(destination, exist_ok=True)
    if via == "zip":
        with zipfile.ZipFile(archive) as bundle:
            for member in bundle.infolist():
                if not _inside(destination, os.path.join(destination, member.filename)):
                    raise BuildError(f"archive member {member.filename!r} would land outside its folder")
            bundle.extractall(destination)
        return
    with tarfile.open(archive, ARCHIVES[via]) as bundle:
        members = [_plain_member(member, destination) for member in bundle.getmembers()]  # all, before writing
        bundle.extractall(destination, members=members, **_ALREADY_FILTERED)


# Python >= 3.11.4 has tarfile's "data" filter; members passed through it are extracted as they are.
_DATA_FILTER = getattr(tarfile, "data_filter", None)
_ALREADY_FILTERED = {"filter": "fully_trusted"} if _DATA_FILTER else {}


def _plain_member(member, destination):
    """The member as tarfile's "data" filter makes it; only plain files and folders, inside `destination`."""
    if not (member.isfile() or member.isdir()):
        raise BuildError(f"archive member {member.name!r} is not a plain file or folder")
    outside = BuildError(f"archive member {member.name!r} would land outside its folder")
    if _DATA_FILTER is None:  # 3.11 before 3.11.4
        if not _inside(destination, os.path.join(destination, member.name)):
            raise outside
        return member
    try:
        return _DATA_FILTER(member, destination)
    except tarfile.FilterError:
        raise outside from None


def stage_files(files, staging):
    """Lay the data partition's tree out under `staging` (hard links, no copies, where possible).

    `files` are recipe entries, each with `local` (a cached file) or `content`.
    """
    for item in files:
        target = os.path.join(staging, item["to"].removeprefix("/data/"))
        via = item.get("via", "direct")
        if "content" in item:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "w", encoding="utf-8") as handle:
                handle.write(item["content"])
        elif via == "direct":
            os.makedirs(os.path.dirname(target), exist_ok=True)
            try:
                os.link(item["local"], target)
            except OSError:
                shutil.copyfile(item["local"], target)
        else:
            _extract(item["local"], via, target)


def tree_size(root):
    total, count = 0, 0
    for folder, _, names in os.walk(root):
        for name in names:
            total += os.lstat(os.path.join(folder, name)).st_size
            count += 1
    return total, count


def build_image(output, size, staging, base_raw=None, cancel=None, progress=None):
    """Write the image; returns {"size", "data_offset", "data_size", "base_end"}."""
    base_table = None
    base_end = 0
    if base_raw is not None:
        base_table = layout.read_table(base_raw)
        if base_table is None or not base_table["partitions"]:
            raise BuildError("the base image has no partition table")
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
