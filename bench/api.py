"""Scheduler API figures: authenticated reads against a bare route, and logins."""

import os
import re
import subprocess
import sys
import tempfile
import threading
import time

import bcrypt
import pymongo

from cardshop.client import ApiClient
from devstack.processes import Process, free_port, wait_for_port
from devstack.servers import REPO, FerretDB, Scheduler

CLIENTS = 16
SECONDS = 10
THREADS = 16


def wrk(url, headers=()):
    """Requests per second that wrk sustains with CLIENTS connections."""
    command = ["wrk", "-t2", f"-c{CLIENTS}", f"-d{SECONDS}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    if re.search(r"Non-2xx or 3xx responses: (\d+)", output):
        raise RuntimeError(f"wrk saw errors on {url}:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))
    p99 = re.search(r"99%\s+(\S+)", output).group(1)
    return rate, p99


def concurrent_rate(operation, seconds=SECONDS):
    """Operations per second with CLIENTS threads calling `operation()` in a loop."""
    count, errors = [0], []
    stop = time.monotonic() + seconds
    lock = threading.Lock()

    def loop():
        while time.monotonic() < stop:
            error = operation()
            with lock:
                if error:
                    errors.append(error)
                else:
                    count[0] += 1

    threads = [threading.Thread(target=loop) for _ in range(CLIENTS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} operations failed: {errors[:5]}")
    return count[0] / (time.monotonic() - started)


def login_rate(client, credentials):
    """Successful logins per second; a 503 or 429 (too many password checks waiting) is tried again."""
    def login():
        while (reply := client.post("/auth/authorize", credentials)).status in (429, 503):
            pass
        return None if reply.status == 200 else reply.status
    return concurrent_rate(login)


def raw_read_rate(mongo_url, db_name, order_id):
    """The same two reads as GET /orders/{id} (order, its tasks), straight from pymongo."""
    client = pymongo.MongoClient(mongo_url)
    db = client[db_name]

    def read():
        db.orders.find_one({"_id": order_id})
        list(db.tasks.find({"order": order_id}).sort([("created_at", 1), ("_id", 1)]))
    try:
        return concurrent_rate(read, seconds=5)
    finally:
        client.close()


def bcrypt_rate(rounds, seconds=3):
    """Raw bcrypt checks per second on one core, for context."""
    hashed = bcrypt.hashpw(b"benchmark password", bcrypt.gensalt(rounds))
    count, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        bcrypt.checkpw(b"benchmark password", hashed)
        count += 1
    return count / (time.monotonic() - started)


def run(report):
    with tempfile.TemporaryDirectory(prefix="cardshop-bench-") as base:
        baseline = Process("baseline", base)
        port = free_port()
        baseline.start([sys.executable, "-m", "bench.baseline", str(port), str(THREADS)], cwd=REPO,
                       env={**os.environ, "PYTHONPATH": REPO})
        database = FerretDB(base)
        scheduler = None
        try:
            wait_for_port(port, 20, baseline.popen, "baseline")
            database.start()
            # production defaults (bcrypt cost 12), but for the per-address login rate (all clients are on
            # loopback) and the memory of verified credentials (this figure is the bcrypt-bound rate)
            scheduler = Scheduler(base, database.url, db_name="bench",
                                  overrides={"auth": {"login_rate": 10000, "login_burst": 10000, "verified_ttl": 0}})
            scheduler.start()
            admin = ApiClient(scheduler.url)
            token = admin.post("/auth/authorize", scheduler.admin).body["access_token"]
            admin.token = token
            admin.post("/warehouses", {"name": "bench", "upload_url": "ftp://127.0.0.1/",
                                       "download_url": "ftp://127.0.0.1/"})
            order = admin.post("/orders", {
                "recipe": {"output": {"size": "1G"}, "files": [{"to": "/data/a.txt", "content": "a"}]},
                "sd_card": {"size": 4, "type": "physical"}, "quantity": 1,
                "recipient": {"name": "Bench", "email": "bench@example.org", "address": "here"}}).body

            bare, bare_p99 = wrk(f"http://127.0.0.1:{port}/constant")
            ours, ours_p99 = wrk(f"{scheduler.url}/orders/{order['_id']}", [f"Authorization: Bearer {token}"])
            report("GET /orders/{id}, authenticated, 16 clients",
                   f"{ours:.0f} req/s (p99 {ours_p99}) vs bare Bottle+Waitress {bare:.0f} req/s (p99 {bare_p99})",
                   ours / bare, 0.35)

            raw = raw_read_rate(database.url, scheduler.db_name, order["_id"])
            report("GET /orders/{id} against its database ceiling (context)",
                   f"{ours:.0f} req/s vs {raw:.0f}/s for the same two reads from bare pymongo "
                   "(16 threads, no HTTP, no auth)", ours / raw, None)

            logins = login_rate(ApiClient(scheduler.url), scheduler.admin)
            raw = bcrypt_rate(12)
            report("POST /auth/authorize, 16 clients, bcrypt cost 12, one password-checking slot",
                   f"{logins:.1f} logins/s; raw bcrypt check {raw:.1f}/s per core, {os.cpu_count()} cores",
                   logins / (raw * os.cpu_count()), None)
        finally:
            if scheduler:
                scheduler.stop()
            database.stop()
            baseline.stop()
