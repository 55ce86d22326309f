"""What every manager answer carries: cookie flags and security headers (the app called as WSGI, no network)."""

import io
import urllib.parse
import wsgiref.util

import pytest

from cardshop.manager.app import LOGIN_BURST, build_app
from cardshop.manager.sessions import Sessions
from cardshop.proxies import TrustedProxies, network


def call(app, path, **extra):
    environ = {}
    wsgiref.util.setup_testing_defaults(environ)
    environ.update(PATH_INFO=path, **extra)
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, headers

    answer["body"] = b"".join(app(environ, start_response)).decode()
    return answer


@pytest.mark.parametrize("secure", [False, True])
def test_the_login_cookie_is_http_only_same_site_strict_and_secure_behind_tls(secure):
    app = build_app(Sessions("k" * 40, "http://127.0.0.1:9", 60), secure_cookies=secure)
    cookie = next(value for name, value in call(app, "/login")["headers"] if name == "Set-Cookie")
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and ("secure" in flags) == secure
    assert not [flag for flag in flags if flag.startswith("max-age")]


@pytest.mark.parametrize("peer, secure", [("192.0.2.1", True), ("192.0.2.9", False)])
def test_cookies_are_secure_when_a_trusted_tls_front_says_the_browser_came_over_https(peer, secure):
    app = build_app(Sessions("k" * 40, "http://127.0.0.1:9", 60), proxies=TrustedProxies([network("192.0.2.1")]))
    answer = call(app, "/login", REMOTE_ADDR=peer, HTTP_X_FORWARDED_PROTO="https",
                  HTTP_X_FORWARDED_FOR="198.51.100.7")
    cookie = next(value for name, value in answer["headers"] if name == "Set-Cookie")
    assert ("secure" in [part.strip().lower() for part in cookie.split(";")]) == secure, cookie


def test_pages_and_errors_forbid_framing_sniffing_and_foreign_scripts():
    app = build_app(Sessions("k" * 40, "http://127.0.0.1:9", 60))
    for path, status in (("/login", "200"), ("/no-such-page", "404"), ("/orders", "303")):
        answer = call(app, path)
        headers = dict(answer["headers"])
        assert answer["status"].startswith(status), path
        assert "script-src 'self'" in headers["Content-Security-Policy"] and "frame-ancestors 'none'" in \
            headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff" and headers["Cache-Control"] == "no-store"


def test_a_login_redirect_never_leaves_the_site():
    from cardshop.manager.app import _safe_next
    assert _safe_next("//evil.example/x") == "/" and _safe_next("https://evil.example/") == "/"
    assert _safe_next("/\\\\evil") == "/" and _safe_next("/orders?status=created") == "/orders?status=created"


def login_statuses(app, tries, **environ_of):
    """The status of each of `tries` wrong logins; `environ_of` maps a name to a function of the try's index
    giving that WSGI variable (REMOTE_ADDR, HTTP_X_FORWARDED_FOR)."""
    answer = call(app, "/login")
    nonce = next(value for name, value in answer["headers"] if name == "Set-Cookie").split(";")[0]
    csrf = answer["body"].split('name="csrf" value="')[1].split('"')[0]
    data = urllib.parse.urlencode({"csrf": csrf, "username": "ada", "password": "guess"}).encode()
    statuses = []
    for index in range(tries):
        environ = {}
        wsgiref.util.setup_testing_defaults(environ)
        environ.update(PATH_INFO="/login", REQUEST_METHOD="POST", CONTENT_LENGTH=str(len(data)),
                       CONTENT_TYPE="application/x-www-form-urlencoded", HTTP_COOKIE=nonce,
                       **{name: value(index) for name, value in environ_of.items()})
        environ["wsgi.input"] = io.BytesIO(data)
        app(environ, lambda status, headers, exc_info=None: statuses.append(status[:3]))
    return statuses


def test_a_browser_that_keeps_trying_passwords_is_slowed_down_before_the_api_is_asked():
    app = build_app(Sessions("k" * 40, "http://127.0.0.1:9", 60))  # nothing listens: every try that gets through fails
    statuses = login_statuses(app, LOGIN_BURST + 1, REMOTE_ADDR=lambda index: "192.0.2.7")
    assert statuses[:LOGIN_BURST] == ["502"] * LOGIN_BURST and statuses[-1] == "429"


def test_a_browser_cannot_escape_the_login_limit_with_made_up_x_forwarded_for():
    app = build_app(Sessions("k" * 40, "http://127.0.0.1:9", 60))
    statuses = login_statuses(app, LOGIN_BURST + 1, REMOTE_ADDR=lambda index: "192.0.2.7",
                              HTTP_X_FORWARDED_FOR=lambda index: f"198.51.100.{index}")
    assert statuses[-1] == "429", statuses


def test_behind_a_trusted_proxy_each_browser_has_its_own_login_limit():
    app = build_app(Sessions("k" * 40, "http://127.0.0.1:9", 60), proxies=TrustedProxies([network("192.0.2.1")]))
    # each browser writes the same address on the left; the proxy appends the one it saw
    apart = login_statuses(app, LOGIN_BURST + 1, REMOTE_ADDR=lambda index: "192.0.2.1",
                           HTTP_X_FORWARDED_FOR=lambda index: f"198.51.100.200, 198.51.100.{index}")
    assert apart == ["502"] * (LOGIN_BURST + 1)
    one = login_statuses(app, LOGIN_BURST + 1, REMOTE_ADDR=lambda index: "192.0.2.1",
                         HTTP_X_FORWARDED_FOR=lambda index: f"198.51.100.{index}, 198.51.100.99")
    assert one[-1] == "429", one
