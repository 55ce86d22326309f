"""The manager's plumbing: templates, the logged-in user, CSRF on every post, security headers.

Templates are Bottle's SimpleTemplate, which escapes every `{{ }}`; no
template uses the unescaped `{{! }}` form on data.
"""

import functools
import json
import hmac
import logging
import os

import bottle

from cardshop.client import ApiSlow, ApiUnreachable
from cardshop.manager.forms import FormError
from cardshop.manager.sessions import COOKIE
from cardshop.manager.wording import HELPERS

log = logging.getLogger(__name__)

HERE = os.path.dirname(os.path.abspath(__file__))
VIEWS = os.path.join(HERE, "views")
STATIC = os.path.join(HERE, "static")

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

def posted(parse):
    """(values, parse(values) or None, {field: error}) of the posted form; `parse` raises FormError."""
    values = {key: bottle.request.forms.getunicode(key, "") for key in bottle.request.forms.keys()}
    try:
        return values, parse(values), {}
    except FormError as exc:
        bottle.response.status = 400
        return values, None, {exc.field: str(exc)}


class Refused(Exception):
    """Show an error page with this status and message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Web:
    """What every page handler shares: sessions, rendering, and the role and CSRF checks."""

    def __init__(self, sessions, secure_cookies=False):
        self.sessions = sessions
        self.secure = secure_cookies

    def set_cookie(self, name, value, max_age=None):
        extra = {} if max_age is None else {"max_age": max_age}  # Bottle would write "Max-Age=None"
        if self.secure or bottle.request.environ.get("wsgi.url_scheme") == "https":  # reached over TLS
            extra["secure"] = True
        bottle.response.set_cookie(name, value, path="/", httponly=True, samesite="strict", **extra)

    def current(self):
        return self.sessions.from_cookie(bottle.request.get_cookie(COOKIE))

    def render(self, name, session=None, **values):
        values.setdefault("errors", {})
        values.setdefault("message", None)
        return bottle.template(name, template_lookup=[VIEWS], session=session, **{**HELPERS, **values})

    def check_csrf(self, expected):
        given = bottle.request.forms.get("csrf", "")
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise Refused(403, "the form's CSRF token is missing or wrong; reload the page and try again")

    def page(self, roles=None):
        """Decorate a handler taking (session, ...): login required, the role checked, CSRF checked on posts."""
        def decorate(handler):
            @functools.wraps(handler)
            def wrapper(*args, **kwargs):
                session = self.current()
                try:
                    if session is None:
                        if bottle.request.method == "GET" and not bottle.request.path.endswith(".json"):
                            bottle.redirect("/login?next=" + bottle.request.path, 303)
                        raise Refused(401, "you are not logged in (or your session ended); log in again")
                    if roles and session.role not in roles:
                        raise Refused(403, f"this page is for {' and '.join(roles)} users; you are {session.role}")
                    if bottle.request.method == "POST":
                        self.check_csrf(session.csrf)
                    return handler(session, *args, **kwargs)
                except ApiUnreachable as exc:  # 504 when it answered too slowly, 502 when it could not be reached
                    return self.refuse(session, Refused(504 if isinstance(exc, ApiSlow) else 502, str(exc)))
                except Refused as exc:
                    return self.refuse(session, exc)
                finally:
                    if session is not None and session.ended:  # its refresh was refused: log in again
                        self.sessions.close(session)
            return wrapper
        return decorate

    def refuse(self, session, exc):
        bottle.response.status = exc.status
        if bottle.request.path.endswith(".json"):
            bottle.response.content_type = "application/json"
            return json.dumps({"error": str(exc)})
        return self.render("error.tpl", session=session, status=exc.status, text=str(exc))

    def then(self, session, reply, what, to):
        """After an API call that changes something: on to `to`, or its refusal as an error page."""
        self.api_body(session, reply, what)
        bottle.redirect(to, 303)

    def api_body(self, session, reply, what):
        """A successful reply's body; otherwise the API's refusal as an error page."""
        if reply.ok:
            return reply.body
        if reply.status == 401 and session.ended:
            raise Refused(401, "your session ended; log in again")
        raise Refused(reply.status if reply.status in (403, 404, 409) else 502,
                      f"the scheduler refused to {what}: {reply.error}")


def install_hooks(app, web):
    @app.hook("after_request")
    def headers():
        for name, value in SECURITY_HEADERS.items():
            bottle.response.set_header(name, value)

    for status in (400, 404, 405, 500):
        app.error(status)(lambda error, status=status: _plain_error(web, status))


def _plain_error(web, status):
    if status == 500:
        log.error("error serving %s", bottle.request.path)
    text = {404: "no such page", 405: "method not allowed", 400: "bad request"}.get(
        status, "the manager failed to serve this page; see its log")
    for name, value in SECURITY_HEADERS.items():
        bottle.response.set_header(name, value)
    return web.render("error.tpl", session=web.current(), status=status, text=text)
