"""Threat: a recipe whose base is a decompression bomb fills the creator's build disk.

A 3 GiB base, compressed to about 120 kB with zstd, for a 256 MiB image
(output.size) on the real creator: refused with the reason, not retryable,
while the build folder never holds more real bytes than the image could.
Zeros are the plain bomb; ones are the same bomb that sparse writing
cannot shrink.
"""

import contextlib
import os
import threading

import pytest

from cardshop.writer.images import _allocated as allocated
from devstack import samples
from tests.conftest import order_body
from tests.integration.pipeline.test_monitor import create_task_of, order_in

MiB = 1024 * 1024
GiB = 1024 * MiB


@contextlib.contextmanager
def peak_held(folder):
    """The most real bytes `folder` held (`[bytes]`), sampled every 20 ms while the block runs."""
    peak, stop = [0], threading.Event()

    def sample():
        while not stop.wait(0.02):
            peak[0] = max(peak[0], allocated(folder))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        yield peak
    finally:
        stop.set()
        sampler.join()


@pytest.mark.parametrize("fill", [b"\0", b"\xff"], ids=["zeros", "ones"])
def test_a_3_gib_base_for_a_256_mib_image_is_refused_and_never_fills_the_build_disk(pipeline, creator, fill):
    name = f"bomb-{fill.hex()}.img.zst"
    bomb = samples.make_compression_bomb(pipeline.content.root, name, 3 * GiB, fill)
    url = f"{pipeline.content.url}/{name}"
    build_dir = creator.config["creator"]["build_dir"]
    with peak_held(build_dir) as peak:
        order = pipeline.admin.post("/orders", order_body(
            recipe={"base": {"source": url, "checksum": samples.checksum(bomb)}, "output": {"size": "256M"},
                    "files": [{"to": "/data/hello.txt", "content": "hello"}]},
            sd_card={"size": 4, "type": "download"}, quantity=1)).body
        done = order_in(pipeline, order["_id"], ("ready", "creation_failed"), timeout=120)
    assert done["status"] == "creation_failed"
    # The image's bytes, the compressed base (hard-linked from the cache) and the staged file, to a few blocks.
    assert peak[0] <= 256 * MiB + os.path.getsize(bomb) + MiB, f"the build folder held {peak[0]} bytes"
    task = create_task_of(done)
    assert task.get("reason") == ("the base image decompresses to more than output.size holds (268435456 bytes): "
                                  "stopped at 268435456 bytes"), task.get("reason")
    assert not (task.get("result") or {}).get("retryable"), "a bigger disk would not make it fit the card"
    assert os.listdir(build_dir) == []
