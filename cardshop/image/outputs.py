"""What the warehouse gets for an image: `<name>.img.zst`, `<name>.bmap`, `<name>.sha256`.

The image is read twice at once (from the page cache): once into a
multi-threaded zstd, once into SHA-256 (of the bytes a card will hold), so
hashing and compressing use separate cores; bmaptool's library then maps
the image's data blocks with their checksums.
"""

import hashlib
import os
import subprocess
import threading

from cardshop.cancellable import Canceled, CommandError

try:  # Debian 12 ships the module as bmaptools, Debian 13 as bmaptool
    from bmaptools import BmapCreate
except ImportError:  # pragma: no cover - depends on the Debian release
    from bmaptool import BmapCreate

BLOCK = 4 * 1024 * 1024


def _sha256_of(path, cancel, result):
    digest = hashlib.sha256()
    with open(path, "rb") as reader:
        while block := reader.read(BLOCK):
            if cancel is not None and cancel.canceled:
                return
            digest.update(block)  # releases the GIL: runs beside the compression
    result.append(digest.hexdigest())


def compress_and_hash(image, target, threads=0, level=3, progress=None, cancel=None):
    """zstd-compress image into target while hashing it on another core; returns the SHA-256 hex digest."""
    size = os.path.getsize(image)
    digest = []
    hasher = threading.Thread(target=_sha256_of, args=(image, cancel, digest), daemon=True)
    hasher.start()
    with open(target, "wb") as out:
        process = subprocess.Popen(["zstd", "-q", f"-T{threads}", f"-{level}", "-c", "-"],
                                   stdin=subprocess.PIPE, stdout=out, stderr=subprocess.PIPE,
                                   start_new_session=True)
        try:
            done = 0
            with open(image, "rb") as reader:
                while True:
                    if cancel is not None and cancel.canceled:
                        raise Canceled(cancel.reason)
                    block = reader.read(BLOCK)
                    if not block:
                        break
                    process.stdin.write(block)
                    done += len(block)
                    if progress:
                        progress(done, size)
            process.stdin.close()
            if process.wait() != 0:
                raise CommandError(f"zstd failed: {process.stderr.read().decode(errors='replace').strip()}")
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stderr.close()
            hasher.join()
    if cancel is not None:
        cancel.check()
    return digest[0]


def write_bmap(image, target):
    with open(target, "w+") as handle:  # bmaptool reads the map back to checksum it
        BmapCreate.BmapCreate(image, handle, "sha256").generate(True)


def make_outputs(image, directory, name, threads=0, progress=None, cancel=None):
    """Write the three files into directory; returns their names, sizes and the checksum."""
    names = {"image": f"{name}.img.zst", "bmap": f"{name}.bmap", "sha256": f"{name}.sha256"}
    paths = {key: os.path.join(directory, value) for key, value in names.items()}
    checksum = compress_and_hash(image, paths["image"], threads, progress=progress, cancel=cancel)
    if cancel is not None:
        cancel.check()
    write_bmap(image, paths["bmap"])
    with open(paths["sha256"], "w") as handle:
        handle.write(f"{checksum}  {name}.img\n")
    return {"files": names, "sha256": checksum, "image_size": os.path.getsize(image),
            "compressed_size": os.path.getsize(paths["image"]),
            "mapped_size": _mapped_bytes(image)}


def _mapped_bytes(image):
    """Bytes the image actually stores (its data blocks, not its holes)."""
    return os.stat(image).st_blocks * 512
