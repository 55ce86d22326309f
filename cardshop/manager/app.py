"""The manager's Bottle app: account pages here, the others in orders, overview and admin."""

import logging
import urllib.parse

import bottle

from cardshop.auth.ratelimit import RateLimit, RateLimited
from cardshop.client import ApiUnreachable
from cardshop.manager import admin, orders, overview, recipes
from cardshop.manager.sessions import COOKIE, LOGIN_COOKIE
from cardshop.manager.web import STATIC, Refused, Web, install_hooks
from cardshop.notify.kinds import OPERATOR_KINDS, SUBSCRIBER_ROLES
from cardshop.proxies import ProxyError, TrustedProxies

log = logging.getLogger(__name__)

# Roles that work orders; the API refuses the others everything the manager shows.
OPERATORS = ("admin", "manager")
# Each browser's attempts, bounded here before the API is asked (which counts them per browser too).
LOGIN_RATE, LOGIN_BURST = 1, 20
# What Bottle would read a client's address, host or scheme from; none is read as sent.
FORWARDING = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_HOST", "HTTP_X_FORWARDED_PROTO", "HTTP_X_FORWARDED_PORT",
              "HTTP_X_FORWARDED_BY", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _safe_next(target):
    """Only a local path: never redirect a login to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return urllib.parse.quote(target, safe="/?=&-_.")


def build_app(sessions, secure_cookies=False, proxies=None):
    """`proxies`: the TrustedProxies in front, whose X-Forwarded-For names the browser (none by default)."""
    app = bottle.Bottle()
    app.config["json.enable"] = False
    web = Web(sessions, secure_cookies)
    install_hooks(app, web)
    attempts = RateLimit(LOGIN_RATE, LOGIN_BURST)
    proxies = proxies or TrustedProxies()

    @app.hook("before_request")
    def browser_address():
        """REMOTE_ADDR becomes the browser's address, the scheme the browser's (https from a trusted TLS
        front: cookies are then Secure); the forwarding headers go, so nothing reads them later."""
        environ = bottle.request.environ
        peer = environ.get("REMOTE_ADDR", "")
        try:
            if environ.get("HTTP_X_FORWARDED_PROTO", "").strip().lower() == "https" and proxies.trusts(peer):
                environ["wsgi.url_scheme"] = "https"
            environ["REMOTE_ADDR"] = proxies.forwarded_client(peer, environ.get("HTTP_X_FORWARDED_FOR"))
        except ProxyError as exc:
            log.warning("refused a request: %s", exc)
            raise bottle.HTTPError(400, str(exc)) from None
        finally:
            for name in FORWARDING:
                environ.pop(name, None)

    @app.get("/static/<name>")
    def static(name):
        return bottle.static_file(name, root=STATIC)

    @app.get("/healthz")
    def healthz():
        bottle.response.content_type = "text/plain"
        return "ok\n"

    @app.get("/login")
    def login_form():
        if web.current() is not None:
            bottle.redirect(_safe_next(bottle.request.query.get("next")), 303)
        return _login_page(web, None, "")

    @app.post("/login")
    def login():
        cookie = bottle.request.get_cookie(LOGIN_COOKIE)
        try:
            web.check_csrf(sessions.login_csrf(cookie))
        except Refused as exc:
            bottle.response.status = 403
            return _login_page(web, str(exc), "")
        username = bottle.request.forms.getunicode("username", "").strip()
        password = bottle.request.forms.getunicode("password", "")
        browser = bottle.request.environ["REMOTE_ADDR"]
        try:
            attempts.take(browser)
        except RateLimited as exc:
            bottle.response.status = 429
            bottle.response.set_header("Retry-After", str(exc.retry_after))
            return _login_page(web, str(exc), username)
        try:
            session, reply = sessions.open(username, password, browser)
        except ApiUnreachable as exc:
            bottle.response.status = 502
            return _login_page(web, str(exc), username)
        if session is None:
            bottle.response.status = 401 if reply.status in (400, 401, 403, 404) else reply.status
            return _login_page(web, reply.error, username)
        if session.role not in OPERATORS:
            sessions.close(session)
            bottle.response.status = 403
            return _login_page(web, f"{session.role} accounts cannot use the manager "
                                    "(it is for admins and managers)", username)
        web.set_cookie(COOKIE, sessions.cookie_value(session))
        web.set_cookie(LOGIN_COOKIE, "", max_age=0)
        bottle.redirect(_safe_next(bottle.request.forms.get("next")), 303)

    @app.post("/logout")
    @web.page()
    def logout(session):
        sessions.close(session)
        web.set_cookie(COOKIE, "", max_age=0)
        bottle.redirect("/login", 303)

    def profile(session, **values):
        me = web.api_body(session, session.get(f"/users/{session.username}"), "read your profile")
        return web.render("password.tpl", session, kinds=OPERATOR_KINDS, chosen=me.get("notify") or [],
                          subscriber=me["role"] in SUBSCRIBER_ROLES, **values)

    @app.get("/password")
    @web.page()
    def password_form(session):
        saved = bottle.request.query.get("notify") == "saved"
        return profile(session, message="Your notifications are saved." if saved else None)

    @app.post("/notifications")
    @web.page()
    def change_notifications(session):
        reply = session.put(f"/users/{session.username}/notify", {"notify": bottle.request.forms.getall("notify")})
        if not reply.ok:
            bottle.response.status = reply.status
            return profile(session, errors={"notify": reply.error})
        bottle.redirect("/password?notify=saved", 303)

    @app.post("/password")
    @web.page()
    def change_password(session):
        forms = bottle.request.forms
        new, again = forms.getunicode("password", ""), forms.getunicode("password_again", "")
        if new != again:
            bottle.response.status = 400
            return profile(session, errors={"password_again": "the two passwords differ"})
        reply = session.post(f"/users/{session.username}/password",
                             {"password": new, "current_password": forms.getunicode("current_password", "")})
        if not reply.ok:
            bottle.response.status = reply.status
            field = "current_password" if "current_password" in reply.error else "password"
            return profile(session, errors={field: reply.error})
        # The API ended every session of this user: log in again with the new password.
        sessions.close(session)
        web.set_cookie(COOKIE, "", max_age=0)
        bottle.redirect("/login?changed=1", 303)

    overview.install(app, web)
    orders.install(app, web)
    recipes.install(app, web)
    admin.install(app, web)
    return app


def _login_page(web, error, username):
    nonce = web.sessions.login_nonce()
    web.set_cookie(LOGIN_COOKIE, nonce)
    if error:
        log.info("manager login refused for %r: %s", username, error)
    return web.render("login.tpl", None, error=error, username=username,
                      csrf=web.sessions.login_csrf(nonce),
                      changed=bottle.request.query.get("changed") == "1",
                      next=_safe_next(bottle.request.query.get("next") or bottle.request.forms.get("next")))
