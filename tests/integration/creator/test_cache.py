"""The download cache against a real HTTP server: resume, verification, sharing, eviction."""

import os
import threading

import pytest

from cardshop.creator.cache import Cache, DownloadError, probe
from cardshop.creator.fetch import opener
from devstack import samples
from devstack.servers import ContentServer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    content = ContentServer(str(tmp_path_factory.mktemp("cache-content")), rate=8 * 1024 * 1024)
    content.start()
    yield content
    content.stop()


@pytest.fixture(scope="module")
def allow(server):
    """The content server is on loopback: the creator reaches it only when its config says so."""
    return [server.allowed]


@pytest.fixture(scope="module")
def files(server):
    return {name: samples.make_random_file(server.root, name, size)
            for name, size in (("a.bin", 3 * 1024 * 1024), ("b.bin", 2 * 1024 * 1024), ("c.bin", 1024 * 1024))}


def test_probe_gives_the_size_and_names_a_missing_url(server, files, allow):
    assert probe(f"{server.url}/a.bin", opener=opener(allow)) == os.path.getsize(files["a.bin"])
    with pytest.raises(DownloadError, match="404"):
        probe(f"{server.url}/nope.bin", opener=opener(allow))


def test_an_interrupted_download_resumes_where_it_stopped(server, files, tmp_path, allow):
    cache = Cache(str(tmp_path), 1 << 30, allow=allow)
    url, checksum = f"{server.url}/a.bin", samples.checksum(files["a.bin"])
    data = open(files["a.bin"], "rb").read()
    key_part = os.path.join(str(tmp_path), _key(url, checksum) + ".part")
    with open(key_part, "wb") as handle:
        handle.write(data[:2 * 1024 * 1024])
    seen = []
    with cache.get(url, checksum, progress=lambda done, total: seen.append(done)) as entry:
        assert open(entry.path, "rb").read() == data
    assert seen[0] > 2 * 1024 * 1024, "it asked for the rest only"


def test_a_wrong_checksum_keeps_nothing(server, files, tmp_path, allow):
    cache = Cache(str(tmp_path), 1 << 30, allow=allow)
    with pytest.raises(DownloadError, match="checksum mismatch"):
        cache.get(f"{server.url}/b.bin", {"algo": "sha256", "value": "0" * 64})
    assert not [name for name in os.listdir(tmp_path) if name.endswith((".data", ".part"))]


def test_concurrent_tasks_share_one_download(server, files, tmp_path, allow):
    cache = Cache(str(tmp_path), 1 << 30, allow=allow)
    url, checksum = f"{server.url}/a.bin", samples.checksum(files["a.bin"])
    downloads, paths, errors = [], [], []

    def fetch():
        calls = []
        try:
            with cache.get(url, checksum, progress=lambda done, total: calls.append(done)) as entry:
                paths.append(entry.path)
                assert samples.sha256_of(entry.path) == checksum["value"]
        except Exception as exc:  # surfaced below
            errors.append(exc)
        downloads.append(len(calls) > 1)  # the one that fetched reported several ticks

    threads = [threading.Thread(target=fetch) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(set(paths)) == 1 and downloads.count(True) == 1


def test_eviction_drops_the_least_recently_used_entry_not_in_use(server, files, tmp_path, allow):
    cache = Cache(str(tmp_path), 4 * 1024 * 1024, allow=allow)
    urls = {name: f"{server.url}/{name}" for name in files}
    held = cache.get(urls["a.bin"])  # 3 MiB, in use
    with cache.get(urls["c.bin"]):
        pass
    with cache.get(urls["b.bin"]):  # 2 MiB more: over 4 MiB, c goes (a is in use)
        pass
    present = {name for name in files if os.path.exists(os.path.join(str(tmp_path), _key(urls[name], None) + ".data"))}
    assert "a.bin" in present and "c.bin" not in present
    held.close()


def _key(url, checksum):
    from cardshop.creator.cache import _key as key
    return key(url, checksum)
