"""A worker's token renewal: a busy or failing scheduler is a transient failure, a refusal is final."""

import http.server
import json
import threading

import pytest

from cardshop import faults
from cardshop.client import CredentialsError, TokenSource


@pytest.fixture
def scheduler_answering():
    """A real HTTP server on loopback that answers every POST with the status the test sets."""
    state = {"status": 503}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.dumps({"error": f"status {state['status']}"}).encode()
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status, transient", [(503, True), (500, True), (429, True), (401, False), (403, False)])
def test_a_refused_login_is_final_a_busy_scheduler_transient(scheduler_answering, status, transient):
    state, url = scheduler_answering
    state["status"] = status
    with pytest.raises(CredentialsError) as caught:
        TokenSource(url, "creator-1", "secret").access_token()
    assert faults.is_transient(caught.value) is transient
    assert f"HTTP {status}" in str(caught.value)
