"""The manager's answers to a logged-in browser are kept out of caches, redirects and errors included."""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # every answer is looked at, redirects too


class Browser:
    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  NoRedirects())

    def open(self, path, form=None):
        """(status, headers, body) of one answer, whatever its status."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(self.base + path, data=data, timeout=30) as reply:
                return reply.status, reply.headers, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read().decode()


def test_pages_after_login_say_no_store(manager, scheduler):
    browser = Browser(manager.url)
    _, _, form = browser.open("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    answers = {"POST /login": browser.open("/login", {"csrf": csrf, **scheduler.admin})}
    assert answers["POST /login"][0] == 303, answers["POST /login"][2]
    for path in ("/", "/orders", "/orders/new", "/users", "/fleet", "/recipes", "/schedules", "/password",
                 f"/orders/{'0' * 24}", f"/orders/{'0' * 24}/live.json", "/no-such-page"):
        answers[f"GET {path}"] = browser.open(path)
    assert answers["GET /users"][0] == 200 and answers["GET /no-such-page"][0] == 404
    assert {name: status for name, (status, headers, _) in answers.items()
            if headers.get("Cache-Control") != "no-store"} == {}
