"""The creator end to end: a URL file whose size differs from the one its recipe gives fails the order, naming both."""

import os

from devstack import samples
from tests.integration.pipeline.test_creator import creator, place  # noqa: F401 (creator: the fixture)
from tests.integration.pipeline.test_monitor import create_task_of, order_in


def test_a_download_of_another_size_than_the_recipe_gives_fails_the_task_naming_both(pipeline, creator):
    path = samples.make_random_file(pipeline.content.root, "sized.zim", 2 * 1024 * 1024 + 3)
    url, size = f"{pipeline.content.url}/sized.zim", os.path.getsize(path)
    order = place(pipeline, {"output": {"size": "64M"}, "files": [
        {"to": "/data/sized.zim", "url": url, "checksum": samples.checksum(path), "size": size + 1}]})
    failed = order_in(pipeline, order["_id"], ("creation_failed",), timeout=60)
    note = failed["statuses"][-1]["note"]
    assert f"the recipe says {size + 1} bytes but {url} serves {size} bytes" in note, note
    assert create_task_of(failed)["status"] == "failed"
