"""The creator end to end: an order becomes an image in the warehouse, checked byte by byte."""

import hashlib
import os
import subprocess

import pytest

from cardshop.client.warehouse import WarehouseClient
from devstack import samples
from tests.integration.pipeline.test_monitor import create_task_of, order_in


@pytest.fixture(scope="module")
def creator(pipeline):
    """A creator for this module only: other modules take the create queue's messages themselves."""
    creator = pipeline.start_creator()
    yield creator
    creator.stop()


@pytest.fixture(scope="module")
def content(pipeline):
    """Files served by the content server, with their checksums."""
    root = pipeline.content.root
    base = samples.make_base_image(root)
    zim = samples.make_random_file(root, "wiki.zim", 3 * 1024 * 1024 + 11)
    archive = samples.make_targz(root, "conf.tar.gz", {"a/one.txt": b"one\n", "two.txt": b"two\n"})
    return {"base": base, "zim": zim, "archive": archive, "url": pipeline.content.url}


def recipe_for(content, **changes):
    recipe = {
        "base": {"source": f"{content['url']}/base.img.xz", "checksum": samples.checksum(content["base"])},
        "output": {"size": "256M"},
        "files": [
            {"to": "/data/zims/wiki.zim", "url": f"{content['url']}/wiki.zim",
             "checksum": samples.checksum(content["zim"]), "via": "direct"},
            {"to": "/data/conf", "url": f"{content['url']}/conf.tar.gz",
             "checksum": samples.checksum(content["archive"]), "via": "gztar"},
            {"to": "/data/message.txt", "content": "hello from cardshop"},
        ],
    }
    recipe.update(changes)
    return recipe


def place(pipeline, recipe):
    return pipeline.admin.post("/orders", {
        "recipe": recipe, "sd_card": {"size": 4, "type": "download"}, "quantity": 1,
        "recipient": {"name": "Ada", "email": "ada@example.org", "address": "1 Main St"}}).body


def test_an_order_becomes_a_checked_image_in_the_warehouse(pipeline, creator, content, tmp_path):
    order = place(pipeline, recipe_for(content))
    done = order_in(pipeline, order["_id"], ("ready", "creation_failed"), timeout=180)
    assert done["status"] == "ready", create_task_of(done).get("reason")
    image = done["image"]
    assert set(image["files"]) == {"image", "bmap", "sha256"}

    with WarehouseClient(pipeline.warehouse.url, pipeline.scheduler.admin["username"],
                         pipeline.admin.token) as client:
        for key, remote in image["files"].items():
            client.download(remote, str(tmp_path / os.path.basename(remote)))
    name = order["_id"]
    subprocess.run(["zstd", "-dq", str(tmp_path / f"{name}.img.zst"), "-o", str(tmp_path / f"{name}.img")],
                   check=True)
    raw = tmp_path / f"{name}.img"
    assert samples.sha256_of(raw) == image["sha256"]
    assert (tmp_path / f"{name}.sha256").read_text() == f"{image['sha256']}  {name}.img\n"
    subprocess.run(["sha256sum", "-c", f"{name}.sha256"], cwd=tmp_path, check=True, capture_output=True)
    assert os.path.getsize(raw) == 256 * 1024 * 1024

    zim, table = samples.read_data_partition_file(str(raw), "/zims/wiki.zim", str(tmp_path))
    assert hashlib.sha256(zim).hexdigest() == samples.sha256_of(content["zim"])
    assert samples.read_data_partition_file(str(raw), "/message.txt", str(tmp_path))[0] == b"hello from cardshop"
    assert samples.read_data_partition_file(str(raw), "/conf/a/one.txt", str(tmp_path))[0] == b"one\n"
    assert samples.read_data_partition_file(str(raw), "/conf/two.txt", str(tmp_path))[0] == b"two\n"
    # The base's partition, byte for byte, then the data partition.
    assert [p["type"] for p in table["partitions"]] == ["c", "83"]
    with open(raw, "rb") as handle:
        handle.seek(2048 * 512)
        copied = handle.read(32768 * 512)
    subprocess.run(["xz", "-dkc", content["base"]], stdout=open(tmp_path / "base.raw", "wb"), check=True)
    with open(tmp_path / "base.raw", "rb") as handle:
        handle.seek(2048 * 512)
        assert handle.read(32768 * 512) == copied
    label = subprocess.run(["dumpe2fs", "-h", str(tmp_path / "data.part")], capture_output=True, text=True).stdout
    assert "Filesystem volume name:   data" in label
    bmap = (tmp_path / f"{name}.bmap").read_text()
    assert "<ChecksumType> sha256 </ChecksumType>" in bmap
    logs = create_task_of(done)
    assert logs["progress"] is not None and logs["worker"]


def test_a_wrong_checksum_fails_the_task_and_publishes_nothing(pipeline, creator, content):
    recipe = recipe_for(content)
    recipe["files"][0]["checksum"] = {"algo": "sha256", "value": "0" * 64}
    order = place(pipeline, recipe)
    failed = order_in(pipeline, order["_id"], ("creation_failed",), timeout=120)
    reason = failed["statuses"][-1]["note"]
    assert "checksum mismatch" in reason and "wiki.zim" in reason
    task_id = create_task_of(failed)["_id"]
    assert not os.path.exists(os.path.join(pipeline.warehouse.root, task_id))


def test_preflight_refuses_an_unreachable_url_before_downloading(pipeline, creator, content):
    recipe = recipe_for(content)
    recipe["files"][0]["url"] = f"{content['url']}/missing.zim"
    order = place(pipeline, recipe)
    failed = order_in(pipeline, order["_id"], ("creation_failed",), timeout=60)
    assert "404" in failed["statuses"][-1]["note"]
