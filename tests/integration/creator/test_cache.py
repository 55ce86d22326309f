"""The download cache against a real HTTP server: resume, verification, sharing, eviction."""

import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cardshop import faults
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


class Dropping(BaseHTTPRequestHandler):
    """Serves `content`, but the first `drops` answers close the connection halfway through."""

    protocol_version = "HTTP/1.0"
    content, drops, ranges = b"", 0, []

    def log_message(self, *args):
        pass

    def do_GET(self):
        cls = type(self)
        start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0]) if self.headers["Range"] else 0
        cls.ranges.append(start)
        rest = cls.content[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(cls.content) - 1}/{len(cls.content)}")
        self.send_header("Content-Length", str(len(rest)))
        self.end_headers()
        if cls.drops:
            cls.drops -= 1
            rest = rest[:len(rest) // 2]
        self.wfile.write(rest)


def test_a_dropped_download_is_retried_by_the_task_s_one_retry_counting_each_try_and_resuming(tmp_path):
    Dropping.content, Dropping.drops, Dropping.ranges = os.urandom(1024 * 1024), 2, []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Dropping)  # the server binds: no port race
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        cache = Cache(str(tmp_path), 1 << 30, timeout=5, allow=[{"network": "127.0.0.1", "port": port}])
        said = []
        retry = faults.Retry(60, say=lambda short, long: said.append(short), first=0.05)
        url = f"http://127.0.0.1:{port}/x.bin"
        with retry(lambda: cache.get(url, size=len(Dropping.content)), "content server") as entry:
            assert open(entry.path, "rb").read() == Dropping.content
    finally:
        server.shutdown()
        server.server_close()
    assert [short.split(", ")[1].split(" in ")[0] for short in said] == ["retry 1", "retry 2"]
    assert len(Dropping.ranges) == 3 and 0 == Dropping.ranges[0] < Dropping.ranges[1] < Dropping.ranges[2], \
        "each try resumed where the last stopped"


def _key(url, checksum):
    from cardshop.creator.cache import _key as key
    return key(url, checksum)
