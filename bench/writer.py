"""Writer figures: bmap writing and O_DIRECT verification against dd, on the same loop devices.

Cards are loop devices from CARDSHOP_LOOP_DEVICES (devstack/cards.py) with
direct I/O on their backing files (so they run at the disk's speed); the
images are files in a scratch folder, made with the creator's outputs
(block map with checksums), as a writer host's cache holds them.
"""

import multiprocessing
import os
import resource
import subprocess
import tempfile
import time

from bench.pipeline import timed
from cardshop.image.outputs import write_bmap
from cardshop.writer import burn
from devstack import cards

MiB = 1024 * 1024
SIZE = 256 * MiB


def _image(folder, name, mapped_fraction):
    """A raw image of SIZE bytes whose first `mapped_fraction` (spread in 8 MiB pieces) holds data."""
    path = os.path.join(folder, f"{name}.img")
    piece = 8 * MiB
    with open(path, "wb") as handle:
        handle.truncate(SIZE)
        step = int(piece / mapped_fraction)
        for offset in range(0, SIZE, step):
            handle.seek(offset)
            handle.write(os.urandom(min(piece, SIZE - offset)))
    write_bmap(path, path + ".bmap")
    return path


def _dd(source, target, direct, count=None):
    argv = ["dd", f"if={source}", f"of={target}", "bs=4M", f"{direct}=direct", "status=none"]
    if count:
        argv.append(f"count={count}")
    subprocess.run(argv, check=True)


def _cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _write_in_child(image, device, results):
    results.put(timed(burn.write, image, image + ".bmap", device))


def run(report):
    try:
        devices = cards.take_readers(2)
    except cards.CardError as exc:
        print(f"Writer: skipped ({exc})\n", flush=True)
        return
    with tempfile.TemporaryDirectory(prefix="cardshop-bench-writer-") as folder:
        try:
            _run(report, folder, devices)
        finally:
            for device in devices:
                cards.remove(device)


def _run(report, folder, devices):
    full = _image(folder, "full", 1.0)
    quarter = _image(folder, "quarter", 0.25)
    device = devices[0]
    for index, reader in enumerate(devices):
        path = os.path.join(folder, f"card-{index}.img")
        with open(path, "wb") as handle:
            handle.truncate(SIZE)
        # direct-io: the loop device reaches the disk, as a card reader reaches its card, rather
        # than answering from the backing file's page cache at memory speed.
        subprocess.run(["losetup", "--direct-io=on", reader, path], check=True)
    with open(full, "rb") as handle:  # both sides read the source from the page cache
        while handle.read(16 * MiB):
            pass

    dd_write = min(timed(_dd, full, device, "oflag") for _ in range(2))
    cpu = _cpu()
    ours_write = min(timed(burn.write, full, full + ".bmap", device) for _ in range(2))
    report("Writer: fully mapped image, bmap write",
           f"{SIZE / MiB / ours_write:.0f} MB/s vs dd bs=4M oflag=direct {SIZE / MiB / dd_write:.0f} MB/s",
           dd_write / ours_write, 0.9)

    dd_read = min(timed(_dd, device, "/dev/null", "iflag", SIZE // (4 * MiB)) for _ in range(2))
    ours_read = min(timed(burn.verify, full, full + ".bmap", device) for _ in range(2))
    report("Writer: verification read-back (O_DIRECT, compared with the image)",
           f"{SIZE / MiB / ours_read:.0f} MB/s vs dd bs=4M iflag=direct {SIZE / MiB / dd_read:.0f} MB/s",
           dd_read / ours_read, 0.9)
    spent = _cpu() - cpu
    per_gib = spent / (4 * SIZE / 1024 ** 3)  # two writes and two verifications of SIZE
    report("Writer: CPU seconds per GiB written and verified",
           f"{per_gib:.2f} s/GiB (this process and bmaptool's reader thread; goal ≤ 1.5)",
           1.5 / max(per_gib, 1e-6), 1.0, extra="ratio = 1.5 / figure")

    ours_quarter = min(timed(lambda: (burn.write(quarter, quarter + ".bmap", device),
                                      burn.verify(quarter, quarter + ".bmap", device))) for _ in range(2))
    report("Writer: 25 % mapped image, write + verify, against dd of the full image",
           f"{ours_quarter:.2f} s vs dd {dd_write:.2f} s: {ours_quarter / dd_write:.2f} × (goal ≤ 0.35 ×)",
           0.35 * dd_write / ours_quarter, 1.0, extra="ratio = 0.35 × dd / ours")

    started = time.perf_counter()
    pair = [subprocess.Popen(["dd", f"if={full}", f"of={reader}", "bs=4M", "oflag=direct", "status=none"])
            for reader in devices]
    for process in pair:
        process.wait()
    dd_pair = time.perf_counter() - started
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    started = time.perf_counter()
    slots = [context.Process(target=_write_in_child, args=(full, reader, results)) for reader in devices]
    for process in slots:
        process.start()
    for process in slots:
        process.join()
    ours_pair = time.perf_counter() - started
    report("Writer: two slots writing at once (aggregate)",
           f"{2 * SIZE / MiB / ours_pair:.0f} MB/s vs two dd at once {2 * SIZE / MiB / dd_pair:.0f} MB/s",
           dd_pair / ours_pair, 0.8)
