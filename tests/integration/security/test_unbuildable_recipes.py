"""A recipe the API cannot judge (it never downloads the base) fails at the creator with a
named reason, never "internal error"."""

import os

from devstack import samples
from tests.conftest import order_body
from tests.integration.pipeline.test_monitor import create_task_of, order_in

MiB = 1024 * 1024


def test_a_base_image_without_a_partition_table_fails_the_order_naming_the_base(pipeline, creator):
    base = os.path.join(pipeline.content.root, "blank-base.img")
    with open(base, "wb") as handle:
        handle.truncate(8 * MiB)  # a disk of zeros: no table at all
    url = f"{pipeline.content.url}/blank-base.img"
    order = pipeline.admin.post("/orders", order_body(
        recipe={"base": {"source": url, "checksum": samples.checksum(base)}, "output": {"size": "64M"},
                "files": [{"to": "/data/hello.txt", "content": "hello"}]},
        sd_card={"size": 4, "type": "download"}, quantity=1)).body
    assert "_id" in order, order
    done = order_in(pipeline, order["_id"], ("ready", "creation_failed"), timeout=120)
    assert done["status"] == "creation_failed"
    reason = create_task_of(done).get("reason") or ""
    assert reason == f"base image {url} has no partition table", reason
    assert os.listdir(creator.config["creator"]["build_dir"]) == []
