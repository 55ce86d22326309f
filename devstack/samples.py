"""Sample content for recipes: a small base image, files and archives, with their checksums."""

import hashlib
import io
import os
import subprocess
import tarfile


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def checksum(path):
    return {"algo": "sha256", "value": sha256_of(path)}


def make_base_image(folder, name="base.img"):
    """A 48 MiB disk with a DOS table and one 16 MiB partition holding some data; xz-compressed."""
    path = os.path.join(folder, name)
    with open(path, "wb") as handle:
        handle.truncate(48 * 1024 * 1024)
    subprocess.run(["sfdisk", "-q", path], input=b"label: dos\nstart=2048, size=32768, type=c, bootable\n",
                   check=True)
    with open(path, "r+b") as handle:
        handle.seek(2048 * 512)
        handle.write(os.urandom(2 * 1024 * 1024))
    subprocess.run(["xz", "-f", "-T0", "-1", path], check=True)
    return path + ".xz"


COMPRESSORS = {".xz": ["xz", "-c", "-1"], ".gz": ["gzip", "-c", "-1"], ".zst": ["zstd", "-c", "-q", "-1"]}


def make_compression_bomb(folder, name, size, fill=b"\0"):
    """`name` (ending .xz, .gz or .zst) that decompresses to `size` bytes of `fill` (a multiple of 4 MiB).

    One compressed 4 MiB stream, repeated: each tool reads concatenated streams as one, so
    a 3 GiB bomb takes a second to make and a few hundred kB to keep."""
    block = 4 * 1024 * 1024
    stream = subprocess.run(COMPRESSORS[os.path.splitext(name)[1]], input=fill * block, capture_output=True,
                            check=True).stdout
    path = os.path.join(folder, name)
    with open(path, "wb") as handle:
        for _ in range(size // block):
            handle.write(stream)
    return path


def make_random_file(folder, name, size):
    path = os.path.join(folder, name)
    with open(path, "wb") as handle:
        handle.write(os.urandom(size))
    return path


def make_targz(folder, name, members):
    """members: {path inside: bytes}"""
    path = os.path.join(folder, name)
    with tarfile.open(path, "w:gz") as bundle:
        for member, data in members.items():
            info = tarfile.TarInfo(member)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
    return path


def read_data_partition_file(image, inside_path, workdir):
    """A file's bytes from the image's last (data) partition, read with debugfs, nothing mounted."""
    import json
    table = json.loads(subprocess.run(["sfdisk", "--json", image], capture_output=True, check=True,
                                      text=True).stdout)["partitiontable"]
    data = max(table["partitions"], key=lambda part: part["start"])
    partition = os.path.join(workdir, "data.part")
    if not os.path.exists(partition):
        subprocess.run(["dd", f"if={image}", f"of={partition}", "bs=512", f"skip={data['start']}",
                        f"count={data['size']}", "conv=sparse", "status=none"], check=True)
    out = os.path.join(workdir, "dumped")
    subprocess.run(["debugfs", "-R", f"dump {inside_path} {out}", partition], check=True, capture_output=True)
    with open(out, "rb") as handle:
        content = handle.read()
    os.unlink(out)
    return content, table
