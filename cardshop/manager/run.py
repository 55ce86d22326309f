"""Run the manager: build the app, serve it with Waitress, ping the watchdog while it answers."""

import logging

import waitress

from cardshop.client import ApiClient, ApiUnreachable
from cardshop.config.rules import session_key, trusted_proxies
from cardshop.manager.app import build_app
from cardshop.manager.sessions import Sessions
from cardshop.serving import local_url, run, stop_on_signals

log = logging.getLogger(__name__)


class LoopCheck:
    """The watchdog proves Waitress's own loop: /healthz answers. The API's health goes to STATUS."""

    def __init__(self, http, scheduler, where, notifier):
        self.own = ApiClient(local_url(http["listen"], http["port"]), timeout=5)
        self.api = ApiClient(scheduler["api_url"], timeout=5, ca_file=scheduler.get("ca_file"))
        self.where, self.notifier = where, notifier
        self.api_up = None

    def __call__(self):
        try:
            if not self.own.get("/healthz").ok:
                return False
        except ApiUnreachable:
            return False
        try:
            api_up = self.api.get("/health").ok
        except ApiUnreachable:
            api_up = False
        if api_up != self.api_up:
            self.api_up = api_up
            self.notifier.status(f"serving the manager on {self.where}" if api_up
                                 else f"serving the manager on {self.where}; the scheduler API does not answer")
        return True


def serve(config, notifier):
    """Serve until SIGTERM or SIGINT; returns the exit code."""
    http, scheduler = config["http"], config["scheduler"]
    sessions = Sessions(session_key(config), scheduler["api_url"], config["session"]["idle_minutes"] * 60,
                        timeout=scheduler["timeout"], ca_file=scheduler.get("ca_file"))
    app = build_app(sessions, secure_cookies=http["secure_cookies"], proxies=trusted_proxies(config, "http"))
    stop = stop_on_signals(notifier)
    # The app reads X-Forwarded-For from its own trusted proxies (a list, which Waitress's one
    # trusted_proxy cannot say) and drops every forwarding header itself.
    server = waitress.create_server(app, host=http["listen"], port=http["port"], threads=http["threads"],
                                    max_request_body_size=1024 * 1024, ident="cardshop-manager",
                                    clear_untrusted_proxy_headers=False)
    where = f"http://{http['listen']}:{http['port']}"
    notifier.ready(status=f"serving the manager on {where}")
    notifier.start_watchdog(LoopCheck(http, scheduler, where, notifier), stop)
    log.info("serving the manager on %s (scheduler API %s)", where, scheduler["api_url"])
    return run(server)
