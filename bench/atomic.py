"""Atomic state changes and login flooding: figures beside the implementation they replaced.

The implementations before the unique-insert compare-and-set (find_one_and_update,
not atomic on FerretDB) are loaded from git at BASELINE_COMMIT and measured in
the same run, on the same database, so the ratio compares like with like.
"""

import statistics
import subprocess
import tempfile
import threading
import time
import types
import urllib.request

import pymongo

from bench.api import concurrent_rate
from cardshop.states import ORDER
from cardshop.store import new_id, now
from cardshop.store import transitions as current_transitions
from cardshop.auth import tokens as current_tokens
from devstack.servers import REPO, FerretDB, Scheduler
from tests.integration.security.concurrency import post_from

BASELINE_COMMIT = "0e3ec5c"  # the last commit before the change
SECONDS = 3
KEY = "k" * 40
ATTACKERS = 16
PROBES = 60


def _baseline(module_path):
    """The module as it was at BASELINE_COMMIT."""
    source = subprocess.run(["git", "-C", REPO, "show", f"{BASELINE_COMMIT}:{module_path}"],
                            capture_output=True, text=True, check=True).stdout
    module = types.ModuleType(f"baseline_{module_path.replace('/', '_')}")
    exec(compile(source, module_path, "exec"), module.__dict__)
    return module


def transition_rate(db, transition):
    """Transitions per second, 16 threads each moving its own order back and forth."""
    local = threading.local()

    def step():
        if not hasattr(local, "order"):
            local.order = {"_id": new_id(), "status": "creation_failed", "rev": 0,
                           "statuses": [{"status": "creation_failed", "event": "created", "at": now(), "by": "b"}]}
            db.orders.insert_one(local.order)
            local.events = iter(["retry", "create_failed"] * 100000)
        transition(db.orders, local.order["_id"], ORDER, next(local.events), "bench")
    return concurrent_rate(step, SECONDS)


def rotation_rate(db, tokens_module):
    """Refresh-token rotations per second, 16 threads each rotating its own session."""
    tokens = tokens_module.Tokens(db, KEY)
    local = threading.local()

    def load_user(username):
        return db.users.find_one({"username": username})

    def rotate():
        if not hasattr(local, "pair"):
            user = {"_id": new_id(), "username": f"bench-{new_id()}", "role": "manager", "active": True}
            db.users.insert_one(user)
            local.pair = tokens.issue(user)
        local.pair = tokens.refresh(local.pair["refresh_token"], load_user)
    return concurrent_rate(rotate, SECONDS)


def health_median(url, probes=PROBES):
    latencies = []
    for _ in range(probes):
        started = time.monotonic()
        with urllib.request.urlopen(url + "/health", timeout=30) as reply:
            reply.read()
        latencies.append(time.monotonic() - started)
    return statistics.median(latencies)


def health_under_login_flood(scheduler, body=None):
    """/health median while ATTACKERS clients, each from its own loopback address, send wrong logins
    (or, with `body`, that request body: b"{}" gives the cost of the flood of requests itself)."""
    stop = threading.Event()
    answers = {}

    def attack(index):
        while not stop.is_set():
            status = post_from(f"127.0.1.{index + 1}", scheduler.url, "/auth/authorize",
                               body or {"username": f"guess{new_id()}", "password": "wrong password"})[0]
            answers[status] = answers.get(status, 0) + 1

    threads = [threading.Thread(target=attack, args=(index,)) for index in range(ATTACKERS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1)  # let the flood reach its steady state
        return health_median(scheduler.url), answers
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def compare(client, measure, old, new):
    """(new, old) rates: each on a fresh database, measured old-new-new-old so neither gains from going first."""
    rates = {"old": [], "new": []}
    for round_, which in enumerate(["old", "new", "new", "old"]):
        db = client[f"bench_atomic_{which}_{round_}"]
        rates[which].append(measure(db, old if which == "old" else new))
    return sum(rates["new"]) / 2, sum(rates["old"]) / 2


def run(report):
    old_transitions = _baseline("cardshop/store/transitions.py")
    old_tokens = _baseline("cardshop/auth/tokens.py")
    with tempfile.TemporaryDirectory(prefix="cardshop-bench-atomic-") as base:
        database = FerretDB(base)
        scheduler = None
        try:
            database.start()
            client = pymongo.MongoClient(database.url, tz_aware=True, maxPoolSize=64)
            after, before = compare(client, transition_rate, old_transitions.transition,
                                    current_transitions.transition)
            report("Order transitions, 16 threads (unique-insert compare-and-set)",
                   f"{after:.0f}/s vs {before:.0f}/s with find_one_and_update at {BASELINE_COMMIT}",
                   after / before, 0.8)
            after, before = compare(client, rotation_rate, old_tokens, current_tokens)
            report("Refresh-token rotations, 16 threads (unique-insert compare-and-set)",
                   f"{after:.0f}/s vs {before:.0f}/s with find_one_and_update at {BASELINE_COMMIT}",
                   after / before, 0.8)
            client.close()

            scheduler = Scheduler(base, database.url, db_name="bench_flood")  # production defaults
            scheduler.start()
            idle = health_median(scheduler.url)
            loaded, answers = health_under_login_flood(scheduler)
            floor, _ = health_under_login_flood(scheduler, b"{}")
            seen = ", ".join(f"{count} x {status}" for status, count in sorted(answers.items()))
            report(f"GET /health while {ATTACKERS} clients send wrong logins (bcrypt cost 12)",
                   f"median {loaded * 1000:.1f} ms vs {idle * 1000:.1f} ms idle (goal also <= 50 ms; "
                   f"1.2 s before this change); login answers: {seen}; "
                   f"{floor * 1000:.1f} ms under the same flood of bodiless requests (400, no password check)",
                   idle * 5 / loaded, 1.0, "ratio = 5 x idle / loaded")
        finally:
            if scheduler:
                scheduler.stop()
            database.stop()
