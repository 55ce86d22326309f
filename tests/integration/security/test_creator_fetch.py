"""Threat: a recipe (a customer's input) makes the creator fetch what it should not.

Real servers on loopback: a hostile HTTP server that lies about sizes,
redirects to the creator's own host or to a cloud metadata address, answers
with a non-HTTP banner; and a zip bomb through the whole pipeline.
"""

import os
import socketserver
import threading
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cardshop.creator.cache import Cache, DownloadError, probe
from cardshop.creator.fetch import opener
from devstack import samples
from devstack.pipeline import Pipeline
from tests.conftest import TEST_AUTH, order_body
from tests.integration.pipeline.test_monitor import create_task_of, order_in

MiB = 1024 * 1024


class Hostile(BaseHTTPRequestHandler):
    """Paths: /lie (HEAD says 10 B, GET streams 60 MiB with no length), /long-lie (GET says 60 MiB),
    /to?URL (302 to URL), /secret-500 (an error with a telling reason and body), anything else: 10 B."""

    protocol_version = "HTTP/1.0"
    sent = 0

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self._answer(body=False)

    def do_GET(self):
        self._answer(body=True)

    def _answer(self, body):
        if self.path.startswith("/to?"):
            self.send_response(302)
            self.send_header("Location", self.path[4:])
            self.end_headers()
            return
        if self.path == "/secret-500":
            self.send_response(500, "SECRET-REASON internal host db.corp:5432")
            self.end_headers()
            if body:
                self.wfile.write(b"SECRET-BODY password=hunter2")
            return
        if self.path == "/lie" and body:
            self.send_response(200)
            self.end_headers()
            self._stream(60 * MiB)
            return
        if self.path == "/long-lie" and body:
            self.send_response(200)
            self.send_header("Content-Length", str(60 * MiB))
            self.end_headers()
            self._stream(60 * MiB)
            return
        self.send_response(200)
        self.send_header("Content-Length", "10")
        self.end_headers()
        if body:
            self.wfile.write(b"0123456789")

    def _stream(self, size):
        block = bytes(MiB)
        try:
            for _ in range(size // MiB):
                self.wfile.write(block)
                type(self).sent += len(block)
        except OSError:
            pass  # the client hung up: what we want


class Banner(socketserver.BaseRequestHandler):
    def handle(self):
        self.request.sendall(b"SSH-2.0-OpenSSH_9.2p1 SECRET-BANNER host=build-7\r\n")


def _serve(server):
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture(scope="module")
def hostile():
    server = _serve(ThreadingHTTPServer(("127.0.0.1", 0), Hostile))
    yield f"http://127.0.0.1:{server.server_address[1]}", server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def banner():
    server = _serve(socketserver.ThreadingTCPServer(("127.0.0.1", 0), Banner))
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def allowing(port):
    return [{"network": "127.0.0.1", "port": port}]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]", "0.0.0.0",
                                  "169.254.169.254", "10.0.0.1", "192.168.1.1", "100.64.0.1", "224.0.0.1",
                                  "240.0.0.1", "[fe80::1]", "[fd00::1]", "[64:ff9b::a9fe:a9fe]"])
def test_recipe_urls_to_internal_addresses_are_refused(hostile, host):
    _, port = hostile
    with pytest.raises(DownloadError, match="address") as refused:
        probe(f"http://{host}:{port}/file", timeout=5)
    assert refused.value.transient is False
    assert "is not fetched" in str(refused.value) and "does not answer" not in str(refused.value)


def test_only_the_allowed_address_and_port_are_reachable(hostile, banner):
    url, port = hostile
    assert probe(f"{url}/file", opener=opener(allowing(port))) == 10
    with pytest.raises(DownloadError, match="loopback address"):
        probe(f"http://127.0.0.1:{banner}/file", opener=opener(allowing(port)))
    with pytest.raises(DownloadError, match="only http and https"):
        probe("file:///etc/passwd", opener=opener(allowing(port)))


@pytest.mark.parametrize("target, words", [
    ("http://127.0.0.1:{other}/file", "loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "link-local address"),
    ("http://[::ffff:169.254.169.254]/latest/meta-data/", "address"),
    ("file:///etc/passwd", "only http\\(s\\) is followed"),
    ("ftp://127.0.0.1/x", "only http\\(s\\) is followed"),
])
def test_redirects_lead_only_where_the_url_itself_could(hostile, banner, target, words):
    url, port = hostile
    with pytest.raises(DownloadError, match=words) as refused:
        probe(f"{url}/to?{target.format(other=banner)}", timeout=5, opener=opener(allowing(port)))
    assert refused.value.transient is False


def test_errors_do_not_echo_what_the_remote_side_said(hostile, banner, tmp_path):
    url, port = hostile
    for target, allow in ((f"{url}/secret-500", allowing(port)),
                          (f"http://127.0.0.1:{banner}/file", allowing(banner))):
        with pytest.raises(DownloadError) as failed:
            probe(target, timeout=5, opener=opener(allow))
        chain, error = [], failed.value
        while error is not None:
            chain.append(str(error))
            error = error.__cause__ or error.__context__
        assert "SECRET" not in " ".join(chain), chain
    cache = Cache(str(tmp_path), 1 << 30, timeout=5, allow=allowing(port))
    with pytest.raises(DownloadError, match="HTTP 500") as failed:
        cache.get(f"{url}/secret-500", size=10)
    assert "SECRET" not in str(failed.value)


@pytest.mark.parametrize("path", ["/lie", "/long-lie"])
def test_a_server_that_sends_more_than_it_announced_is_cut_off(hostile, tmp_path, path):
    url, port = hostile
    cache = Cache(str(tmp_path), 1 << 30, timeout=5, allow=allowing(port))
    announced = probe(f"{url}{path}", opener=cache.opener)
    assert announced == 10
    Hostile.sent = 0
    with pytest.raises(DownloadError, match="more than the 10 bytes it announced") as failed:
        cache.get(f"{url}{path}", size=announced)
    assert failed.value.transient is False
    assert Hostile.sent < 16 * MiB, "the creator stopped reading long before the 60 MiB"
    assert not [name for name in os.listdir(tmp_path) if name.endswith((".data", ".part"))]


def make_zip_bomb(path, size):
    """A zip of one member of `size` zero bytes (about 1000 times smaller)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as bundle:
        with bundle.open("zeros.bin", "w", force_zip64=True) as member:
            block = bytes(MiB)
            for _ in range(size // MiB):
                member.write(block)
    return path


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, ferretdb):
    """A stack of its own (its own database): the pipeline tests' stack may run in the same session."""
    stack = Pipeline(str(tmp_path_factory.mktemp("fetch-pipeline")), ferretdb, auth=TEST_AUTH, db_name="fetch")
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


def test_a_zip_bomb_fails_the_task_and_leaves_nothing_behind(pipeline, creator):
    bomb = make_zip_bomb(os.path.join(pipeline.content.root, "bomb.zip"), 1024 * MiB)
    order = pipeline.admin.post("/orders", order_body(
        recipe={"output": {"size": "64M"},
                "files": [{"to": "/data/bomb", "url": f"{pipeline.content.url}/bomb.zip",
                           "checksum": samples.checksum(bomb), "via": "zip"}]},
        sd_card={"size": 4, "type": "download"}, quantity=1)).body
    assert "_id" in order, order
    done = order_in(pipeline, order["_id"], ("ready", "creation_failed"), timeout=120)
    assert done["status"] == "creation_failed"
    reason = create_task_of(done).get("reason") or ""
    assert "unpacking stopped" in reason and "bomb.zip" in reason, reason
    settings = creator.config["creator"]
    assert os.listdir(settings["build_dir"]) == []
    assert not [name for name in os.listdir(settings["cache_dir"]) if name.endswith((".data", ".part"))]

