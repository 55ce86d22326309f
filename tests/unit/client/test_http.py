"""The API client tells an API it cannot reach from one that took the request and answered too slowly."""

import socket
import threading

import pytest

from cardshop.client import ApiClient, ApiSlow, ApiUnreachable


@pytest.fixture
def silent_server():
    """A server that accepts connections and reads requests, and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held, stop = [], threading.Event()

    def accept():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_an_api_that_takes_the_request_and_never_answers_is_slow(silent_server):
    with pytest.raises(ApiSlow) as raised:
        ApiClient(silent_server, timeout=0.5).get("/orders?q=secret")
    assert str(raised.value) == (f"the API at {silent_server} did not answer GET /orders within 0.5 s "
                                 "(it is slow, not unreachable)")


def test_a_call_may_have_a_timeout_of_its_own(silent_server):
    with pytest.raises(ApiSlow, match="within 0.2 s"):
        ApiClient(silent_server, timeout=30).get("/health", timeout=0.2)


def test_a_port_nobody_listens_on_is_unreachable_not_slow():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ApiUnreachable) as raised:
        ApiClient(f"http://127.0.0.1:{port}", timeout=2).get("/health")
    assert not isinstance(raised.value, ApiSlow) and "cannot reach the API" in str(raised.value)
