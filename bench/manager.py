"""Manager figures: the dashboard and the order list with 1,000 orders, against the API calls they make."""

import concurrent.futures
import http.cookiejar
import re
import statistics
import tempfile
import time
import urllib.parse
import urllib.request

from cardshop.client import ApiClient
from devstack.manager import Manager
from devstack.servers import FerretDB, Scheduler

ORDERS = 1000
ROUNDS = 30
GOAL = 3.0  # a page may take at most this many times the API call(s) it relies on


def median_seconds(call, rounds=ROUNDS):
    call()  # warm caches and connections
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


class Browser:
    """A logged-in manager session over plain HTTP (cookies kept, CSRF token read from the login form)."""

    def __init__(self, url, username, password):
        self.url = url
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        form = self.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        data = urllib.parse.urlencode({"csrf": csrf, "username": username, "password": password}).encode()
        with self.opener.open(url + "/login", data) as reply:
            if urllib.parse.urlsplit(reply.url).path != "/":
                raise RuntimeError(f"manager login failed: landed on {reply.url}")

    def get(self, path):
        with self.opener.open(self.url + path) as reply:
            if reply.status != 200:
                raise RuntimeError(f"{path}: HTTP {reply.status}")
            return reply.read().decode()


def place_orders(admin, count):
    body = {"recipe": {"output": {"size": "1G"}, "files": [{"to": "/data/a.txt", "content": "a"}]},
            "sd_card": {"size": 4, "type": "physical"}, "quantity": 1,
            "recipient": {"name": "Bench", "email": "bench@example.org", "address": "here"}}
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for index, reply in enumerate(pool.map(lambda _: admin.post("/orders", body), range(count))):
            if reply.status != 201:
                raise RuntimeError(f"order {index}: {reply.error}")
            if index % 10 == 0:  # some variety for the dashboard's counts
                admin.post(f"/orders/{reply.body['_id']}/cancel")


def run(report):
    with tempfile.TemporaryDirectory(prefix="cardshop-bench-manager-") as base:
        database = FerretDB(base)
        scheduler = manager = None
        try:
            database.start()
            scheduler = Scheduler(base, database.url, db_name="bench_manager",
                                  overrides={"auth": {"login_rate": 10000, "login_burst": 10000}})
            scheduler.start()
            manager = Manager(base, scheduler.url)
            manager.start()
            admin = ApiClient(scheduler.url)
            admin.token = admin.post("/auth/authorize", scheduler.admin).body["access_token"]
            admin.post("/warehouses", {"name": "bench", "upload_url": "ftp://127.0.0.1/",
                                       "download_url": "ftp://127.0.0.1/", "default": True})
            place_orders(admin, ORDERS)
            browser = Browser(manager.url, scheduler.admin["username"], scheduler.admin["password"])

            page = median_seconds(lambda: browser.get("/orders"))
            api = median_seconds(lambda: admin.get("/orders?per_page=25"))
            report(f"Manager: order list page with {ORDERS} orders (median of {ROUNDS})",
                   f"{page * 1000:.1f} ms vs {api * 1000:.1f} ms for GET /orders?per_page=25, the call it makes",
                   GOAL * api / page, 1.0, extra=f"goal: page <= {GOAL:.0f} x its API call (ratio = {GOAL:.0f} x API / page)")

            dashboard = median_seconds(lambda: browser.get("/"))
            calls = ["/stats/orders", "/orders?status=creation_failed,write_failed&per_page=10",
                     "/workers?per_page=200"]
            every = median_seconds(lambda: [admin.get(path) for path in calls])
            slowest = max(median_seconds(lambda: admin.get(path), rounds=10) for path in calls)
            report(f"Manager: dashboard with {ORDERS} orders (median of {ROUNDS})",
                   f"{dashboard * 1000:.1f} ms vs {every * 1000:.1f} ms for the {len(calls)} API calls it makes "
                   f"one after the other (the manager sends them together; the slowest alone takes "
                   f"{slowest * 1000:.1f} ms)",
                   GOAL * every / dashboard, 1.0,
                   extra=f"goal: page <= {GOAL:.0f} x its API calls (ratio = {GOAL:.0f} x API / page)")
        finally:
            for server in (manager, scheduler):
                if server:
                    server.stop()
            database.stop()
