"""Hot paths at scale: the API's reads and the beat's jobs with a long history, against the same with a short one.

Two databases on one FerretDB 2 / DocumentDB: a shop with SMALL orders and one with `orders` (100,000
for `make bench-scale`, 10,000 in `make bench`), each in the real shape (bench/database.py writes them as the
store does: ≈2.5 tasks an order, 18 months of history, the newest few in flight) with `workers` worker records
as the monitor files them, and IN_FLIGHT orders in the works in both. A scheduler serves each; every figure
is its p95 over repeated calls, goals:
≤ 100 ms with the long history and ≤ 2x its own p95 with the short one; each beat job ≤ 1 s with the long one.
The scheduler's memory (RSS) is printed at idle and after the calls.
"""

import argparse
import datetime
import logging
import os
import sys
import tempfile
import time
import urllib.parse

from bench.database import load, load_workers, percentile, timed
from cardshop.beat.jobs import JOBS, Context
from cardshop.client import ApiClient
from cardshop.manager.overview import HOSTS_PER_PAGE
from cardshop.store.db import connect
from devstack.servers import FerretDB, Scheduler, log_in
from tests.conftest import TEST_AUTH

SMALL = 1_000
IN_FLIGHT = 200  # orders in the works in either shop: the work in flight does not grow with the history
CALLS, BUDGET = 60, 20  # calls per figure, and seconds (at least 5 calls)
P95_GOAL_MS, GROWTH_GOAL, JOB_GOAL_S = 100.0, 2.0, 1.0
# A recipient's email, as an operator pastes it from a customer's message. (A word every seeded name has,
# "School", matches every order: such a search reads its matches through the search index.)
SEARCHED = "school4242@example.org"
# The jobs that need more than the database (a broker, the warehouse, a recipe to build) are left out.
JOB_PARAMS = {"republish_pending": {"older_than": 30}, "time_out_tasks": {"timeout": 900, "max_attempts": 3},
              "purge_tokens": {}, "expire_downloads": {"after_days": 30},
              "retry_failed": {"max_attempts": 3, "older_than": 60, "within": 86400},
              "reconcile": {"older_than": 120, "max_attempts": 3}, "move_offline_writers": {"offline_after": 90},
              "expire_workers": {"after": 86400}, "prune_commits": {"older_than": 86400, "limit": 5000},
              "compact_histories": {"after_days": 90, "limit": 25}}


class Shop:
    """One database with its history, and a scheduler serving it."""

    def __init__(self, base, database, name, orders, workers):
        self.db = connect(database.url, name, timeout=30, call_timeout=600)
        started = time.monotonic()
        self.size = load(self.db, orders, IN_FLIGHT)
        load_workers(self.db, workers, datetime.datetime.now(datetime.timezone.utc))
        self.load_seconds = time.monotonic() - started
        self.scheduler = Scheduler(os.path.join(base, name), database.user_url("cardshop_scheduler"), db_name=name,
                                   overrides={"auth": TEST_AUTH})
        self.scheduler.start()
        self.api = ApiClient(self.scheduler.url, log_in(self.scheduler.url, self.scheduler.admin)["access_token"])
        self.api.post("/warehouses", {"name": "main", "upload_url": "ftp://127.0.0.1:9/",
                                      "download_url": "ftp://127.0.0.1:9/"})
        self.order_ids = [doc["_id"] for doc in self.db.orders.find({}, {"_id": 1}).limit(500)]

    def calls(self):
        """(what, path maker) of each read an operator's screen makes."""
        return [("GET /orders", lambda _: "/orders"),
                ("GET /orders?status=pending_writer (live work)", lambda _: "/orders?status=pending_writer"),
                ("GET /orders?status=shipped (most of the history)", lambda _: "/orders?status=shipped"),
                ("GET /orders?q= (a recipient's email)", lambda _: "/orders?" + urllib.parse.urlencode({"q": SEARCHED})),
                ("GET /stats/orders", lambda _: "/stats/orders"),
                ("GET /orders/{id}", lambda index: f"/orders/{self.order_ids[(index * 7919) % len(self.order_ids)]}"),
                ("GET /workers (the manager's fleet page)", lambda _: f"/workers?per_page={HOSTS_PER_PAGE}")]

    def call(self, path):
        reply = self.api.get(path)
        if reply.status != 200:
            raise RuntimeError(f"GET {path}: {reply.status} {reply.body}")

    def rss_mib(self):
        with open(f"/proc/{self.scheduler.process.pid}/status") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self):
        self.scheduler.stop()
        self.db.client.close()


def paired_p95(shops, path_makers):
    """The p95 of each shop's calls, made in turn (one call to each, again and again), so that both meet
    the same moments of the machine (a vacuum, another process) and only their histories differ."""
    for shop, path_of in zip(shops, path_makers):
        shop.call(path_of(0))  # warm
    times = [[] for _ in shops]

    def both(index):
        for shop, path_of, kept in zip(shops, path_makers, times):
            started = time.perf_counter()
            shop.call(path_of(index))
            kept.append(time.perf_counter() - started)
    timed(both, CALLS, 2 * BUDGET)
    return [percentile(kept, 0.95) for kept in times]


def run(report, orders=10_000, workers=500):
    logging.getLogger("cardshop").setLevel(logging.ERROR)  # the jobs' repairs of the seeded history: not figures
    with tempfile.TemporaryDirectory(prefix="cardshop-bench-scale-") as base:
        database = FerretDB(base)
        database.start()
        shops = []
        try:
            small, big = (Shop(base, database, f"scale_{count}", count, workers) for count in (SMALL, orders))
            shops = [small, big]
            database.postgresql.psql("ANALYZE;")  # the statistics autovacuum keeps on a database in use
            print(f"scale: loaded {big.size[0]:,} orders, {big.size[1]:,} tasks and {workers:,} worker records in "
                  f"{big.load_seconds:.0f} s; the reference shop holds {small.size[0]:,} orders\n", flush=True)
            idle = big.rss_mib()
            for (what, path_of), (_, small_path_of) in zip(big.calls(), small.calls()):
                long_p95, short_p95 = paired_p95((big, small), (path_of, small_path_of))
                report(f"scale: {what} at {big.size[0]:,} orders",
                       f"p95 {long_p95 * 1000:.1f} ms; {short_p95 * 1000:.1f} ms at {small.size[0]:,} orders; "
                       f"goal p95 <= {P95_GOAL_MS:.0f} ms and <= {GROWTH_GOAL:.0f}x the short history's",
                       min(P95_GOAL_MS / 1000 / long_p95, GROWTH_GOAL * short_p95 / long_p95), 1.0,
                       "ratio = the smaller of 100 ms / p95 and 2x short p95 / long p95")
            print(f"scale: scheduler RSS {idle:.0f} MiB at idle, {big.rss_mib():.0f} MiB after the calls above\n",
                  flush=True)
            context = Context(big.db, publisher=None)
            for job, params in JOB_PARAMS.items():
                # The first run catches up with what the seeded history left to do (its in-flight tasks
                # are silent, its writer hosts offline); the next one is the job as it runs every period.
                (first, first_summary), (took, summary) = (_timed_run(context, job, params) for _ in range(2))
                report(f"scale: beat job {job} at {big.size[0]:,} orders",
                       f"{took:.3f} s ({summary}); goal <= 1 s; the first run, catching up: {first:.3f} s "
                       f"({first_summary})", JOB_GOAL_S / max(took, 1e-6), 1.0, "ratio = 1 s / its run")
        finally:
            for shop in shops:
                shop.stop()
            database.stop()


def _timed_run(context, job, params):
    started = time.monotonic()
    summary = JOBS[job](context, **params)
    return time.monotonic() - started, summary


def main():
    from bench.__main__ import failures, report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000, help="orders in the long history (default 100,000)")
    parser.add_argument("--workers", type=int, default=2_000, help="worker records (default 2,000)")
    args = parser.parse_args()
    run(report, args.orders, args.workers)
    print(f"\n{len(failures)} goal(s) missed" + (": " + "; ".join(failures) if failures else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
