"""Logins through a real manager process: wrong passwords in one browser lock out that browser only.

Browsers are loopback addresses (127.0.0.x); the shared scheduler trusts the
manager's 127.0.0.1 to name them (devstack's scheduler.yaml).
"""

import http.client
import re
import urllib.parse

import pytest

from cardshop.proxies import CLIENT_ADDRESS_HEADER
from devstack.manager import Manager
from tests.integration.security.concurrency import post_from

FRONT = "127.0.0.40"  # a TLS proxy in front of the manager


class Browser:
    """A browser at loopback address `source`, sending `headers` with every request."""

    def __init__(self, manager_url, source, headers=None):
        self.url = urllib.parse.urlsplit(manager_url)
        self.source = source
        self.headers = headers or {}

    def log_in(self, username, password):
        """Fetch the login form and post it; the manager's status (303: logged in)."""
        connection = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=30,
                                                source_address=(self.source, 0))
        try:
            connection.request("GET", "/login", headers=self.headers)
            form = connection.getresponse()
            page = form.read().decode()
            assert form.status == 200, (form.status, page)
            cookie = form.getheader("Set-Cookie").split(";")[0]
            csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)
            data = urllib.parse.urlencode({"csrf": csrf, "username": username, "password": password})
            connection.request("POST", "/login", data, {"Content-Type": "application/x-www-form-urlencoded",
                                                         "Cookie": cookie, **self.headers})
            reply = connection.getresponse()
            reply.read()
            return reply.status
        finally:
            connection.close()


def locked_out(statuses):
    """Three refusals, then locked (the suite's auth.max_failures is 3, its first lock 2 s: a slow machine
    may see the lock end before the fifth try)."""
    return statuses[:4] == [401, 401, 401, 429] and set(statuses[4:]) <= {401, 429}


def guesses(browser, user, count=5):
    return [browser.log_in(user.username, "not the password") for _ in range(count)]


def test_wrong_passwords_in_one_browser_lock_out_neither_another_browser_nor_the_api(manager, scheduler,
                                                                                      make_user):
    user = make_user("manager")
    assert locked_out(guesses(Browser(manager.url, "127.0.0.31"), user))
    assert Browser(manager.url, "127.0.0.32").log_in(user.username, user.password) == 303
    assert post_from("127.0.0.33", scheduler.url, "/auth/authorize",
                     {"username": user.username, "password": user.password})[0] == 200


def test_forwarding_headers_from_a_browser_neither_free_a_guesser_nor_lock_out_the_browser_they_name(
        manager, make_user):
    user = make_user("manager")
    victim = "127.0.0.35"
    claims = [victim, "127.0.0.36", "127.0.0.37", victim, "127.0.0.38"]  # rotated, the victim's among them
    statuses = [Browser(manager.url, "127.0.0.34", {"X-Forwarded-For": claim, CLIENT_ADDRESS_HEADER: claim})
                .log_in(user.username, "not the password") for claim in claims]
    assert locked_out(statuses), statuses  # counted at its own address whatever it claims
    assert Browser(manager.url, victim).log_in(user.username, user.password) == 303


@pytest.fixture(scope="module")
def fronted_manager(tmp_path_factory, scheduler):
    """A manager that believes X-Forwarded-For from FRONT only."""
    server = Manager(str(tmp_path_factory.mktemp("fronted")), scheduler.url, trusted_proxies=[FRONT])
    server.start()
    yield server
    server.stop()


def through_front(manager, forwarded_for):
    """A browser behind the front: the front connects and sends what it appended to X-Forwarded-For."""
    return Browser(manager.url, FRONT, {"X-Forwarded-For": forwarded_for})


def test_behind_a_trusted_front_each_browser_is_told_apart_and_none_can_pose_as_another(fronted_manager,
                                                                                      make_user):
    user = make_user("manager")
    victim = "127.0.0.42"
    # browser .41 writes the victim's address; the front appends the one it saw
    assert locked_out(guesses(through_front(fronted_manager, f"{victim}, 127.0.0.41"), user))
    # a browser going round the front is not believed either
    sideways = Browser(fronted_manager.url, "127.0.0.43", {"X-Forwarded-For": victim})
    assert locked_out(guesses(sideways, user))
    assert through_front(fronted_manager, victim).log_in(user.username, user.password) == 303
