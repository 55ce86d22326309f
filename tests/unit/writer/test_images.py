"""The host's image cache: one download per image whatever the number of slots, checked once, evicted LRU."""

import multiprocessing
import os
import shutil
import time

import pytest

from cardshop.cancellable import CancelToken
from cardshop.writer.images import ImageCache, ImageError
from tests.unit.writer.conftest import MiB, make_image


def described(made, folder="/task"):
    """The order's `image`, as the monitor stores it from the creator's result."""
    return {"sha256": made["sha256"], "image_size": made["image_size"], "compressed_size": made["compressed_size"],
            "mapped_size": made["mapped_size"],
            "files": {key: f"{folder}/{name}" for key, name in made["files"].items()}}


class Shelf:
    """A warehouse stand-in for the cache's `fetch` hook: copies from a folder and counts each copy in a file."""

    def __init__(self, made, log, delay=0.0):
        self.folder, self.log, self.delay = made["folder"], log, delay

    def __call__(self, remote, local, progress):
        with open(self.log, "a") as handle:
            handle.write(os.path.basename(remote) + "\n")
        time.sleep(self.delay)
        shutil.copyfile(os.path.join(self.folder, os.path.basename(remote)), local)
        return local

    def fetched(self):
        with open(self.log) as handle:
            return handle.read().split()


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    return make_image(str(tmp_path_factory.mktemp("image")), name="one")


def _slot(cache_dir, image, shelf, results):
    with ImageCache(cache_dir, 1 << 30).get(image, shelf, CancelToken()) as cached:
        with open(cached.path, "rb") as handle:
            results.put((cached.name, len(handle.read())))


def test_two_slot_processes_needing_one_image_download_it_once(image, tmp_path):
    shelf = Shelf(image, str(tmp_path / "fetched"), delay=0.5)
    results = multiprocessing.get_context("fork").Queue()
    slots = [multiprocessing.get_context("fork").Process(target=_slot, args=(str(tmp_path / "cache"),
                                                                             described(image), shelf, results))
             for _ in range(2)]
    for process in slots:
        process.start()
    for process in slots:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert sorted(shelf.fetched()) == ["one.bmap", "one.img.zst", "one.sha256"]
    assert [results.get(timeout=5) for _ in slots] == [("one", 64 * MiB)] * 2


def test_the_cached_image_is_sparse_and_listed_by_name(image, tmp_path):
    cache = ImageCache(str(tmp_path / "cache"), 1 << 30)
    with cache.get(described(image), Shelf(image, str(tmp_path / "log")), CancelToken()) as cached:
        assert os.stat(cached.path).st_blocks * 512 < 16 * MiB  # 5 MiB mapped of 64
        assert not os.path.exists(cached.folder + ".download")
    assert cache.names() == ["one"]


def test_an_image_whose_checksum_file_disagrees_with_the_order_is_refused(image, tmp_path):
    cache = ImageCache(str(tmp_path / "cache"), 1 << 30)
    wrong = {**described(image), "sha256": "0" * 64}
    with pytest.raises(ImageError, match="does not match the order's image checksum"):
        cache.get(wrong, Shelf(image, str(tmp_path / "log")), CancelToken())
    assert cache.names() == []


def test_room_is_made_by_evicting_the_least_recently_used_image_nobody_writes_from(tmp_path):
    images = [make_image(str(tmp_path / name), name=name, size=8 * MiB, mapped=((0, 3 * MiB),))
              for name in ("a", "b", "c")]
    # Room for two unpacked images (3 MiB mapped each), not for a third while it comes compressed.
    cache = ImageCache(str(tmp_path / "cache"), 10 * MiB)
    shelf = [Shelf(made, str(tmp_path / "log")) for made in images]
    pinned = cache.get(described(images[0]), shelf[0], CancelToken())  # a slot writes from "a"
    cache.get(described(images[1]), shelf[1], CancelToken()).close()
    with cache.get(described(images[2]), shelf[2], CancelToken()):
        assert cache.names() == ["a", "c"]  # "b" went, though older "a" was in use
    pinned.close()
    with pytest.raises(ImageError, match="more than the whole cache"):
        cache.get({**described(images[0]), "sha256": "f" * 64, "mapped_size": 11 * MiB}, shelf[0], CancelToken())


def test_orders_with_byte_identical_images_each_get_their_own_name_from_one_download(image, tmp_path):
    cache = ImageCache(str(tmp_path / "cache"), 1 << 30)
    shelf = Shelf(image, str(tmp_path / "log"))
    with cache.get(described(image), shelf, CancelToken()) as first:
        assert first.name == "one"
    # another order's image: the same bytes and checksum, in its own folder under its own name
    other = described(image, folder="/other-task")
    other["files"] = {key: path.replace("/one.", "/two.") for key, path in other["files"].items()}
    with cache.get(other, shelf, CancelToken()) as second:
        assert second.name == "two"  # the writer reports the name of the order it wrote for
        assert second.folder == first.folder
    assert sorted(shelf.fetched()) == ["one.bmap", "one.img.zst", "one.sha256"]  # downloaded once
    assert cache.names() == ["one", "two"]
    with cache.get(described(image), shelf, CancelToken()) as again:
        assert again.name == "one"
