"""The metrics endpoint's own server: off without a port, a taken port named as a config error."""

import socket

import pytest

from cardshop.config import ConfigError
from cardshop.scheduler import metrics


def test_no_port_serves_nothing():
    assert metrics.start({"metrics": {"listen": "127.0.0.1", "port": None, "token_file": None}}, None, None) is None


def test_a_taken_port_is_a_config_error_naming_the_key():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=r"key 'metrics.port': cannot listen on 127.0.0.1:\d+"):
            metrics.start({"metrics": {"listen": "127.0.0.1", "port": port, "token_file": None}}, None, None)


def test_the_token_guard_answers_401_without_the_token():
    calls = []
    app = metrics.with_token(lambda environ, start: calls.append(1) or [b"ok"], "secret")
    statuses = []
    assert app({"HTTP_AUTHORIZATION": "Bearer wrong"}, lambda status, headers: statuses.append(status)) == \
        [b"a bearer token is required\n"]
    assert statuses == ["401 Unauthorized"] and not calls
    assert app({"HTTP_AUTHORIZATION": "Bearer secret"}, lambda status, headers: None) == [b"ok"]
