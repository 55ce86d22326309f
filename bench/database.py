"""The database engine: FerretDB 2.7 on PostgreSQL 17 with DocumentDB beside FerretDB 1.24 with SQLite.

Both engines get a shop's history in the shape the store writes it (orders.new_order, tasks.new_task,
histories as transitions.py appends them, the indexes of db.ensure_indexes), inserted in bulk. The
new engine holds ORDERS orders, the old one a tenth of them: FerretDB 1.24 reads every document for
each of these queries, 8-20 s a query at 10,000 orders (measured), about ten times that at 100,000;
its figures are on ten times less data, which flatters it. Each query is timed as the scheduler
sends it, and explained on the new engine: a plan that reads the whole collection (a Seq Scan, or
the _id_ index walked for every document) misses its goal.

    python -m bench.database [--orders N]      (these figures alone; make bench runs them with the rest)
"""

import argparse
import datetime
import hashlib
import math
import statistics
import sys
import tempfile
import time

from cardshop.api.resources import DEFAULT_PER_PAGE
from cardshop.states import ORDER, task_machine
from cardshop.store import orders, paging, tasks, workers
from cardshop.store.db import connect, ensure_indexes
from cardshop.store.plans import describe, explain, plan_nodes, whole_collection
from devstack.servers import FerretDB, OldFerretDB

ORDERS = 100_000
OLD_SHARE = 10  # the old engine holds ORDERS / OLD_SHARE orders
WORKERS = 2_000
DB_NAME = "cardshop_bench"
BATCH = 1_000
HISTORY_DAYS = 540  # 18 months of orders
SPEEDUP_GOAL = 50.0
HEARTBEAT_P95_MS = 5.0
STARTUP_SECONDS = 10.0

# An order's way to each status, as the cascades and the API move it (ORDER's events).
PHYSICAL = ["create_started", "create_done_physical", "write_started", "writes_done", "ship"]
DOWNLOAD = ["create_started", "create_done_download", "expire"]
PATHS = {
    "created": [], "creating": PHYSICAL[:1], "pending_writer": PHYSICAL[:2], "writing": PHYSICAL[:3],
    "pending_shipment": PHYSICAL[:4], "shipped": PHYSICAL, "ready": DOWNLOAD[:2], "expired": DOWNLOAD,
    "creation_failed": ["create_started", "create_failed"], "write_failed": PHYSICAL[:3] + ["write_failed"],
    "canceled": PHYSICAL[:2] + ["cancel"],
}
LIVE = ["created", "creating", "pending_writer", "writing", "pending_shipment", "ready"]
PHYSICAL_LIVE = LIVE[:-1]
LIVE_SHARE = 0.004  # the newest orders are still in the works: a few days' worth
# The tasks' statuses for each order status: (create task, write tasks).
TASK_STATUSES = {
    "created": ("pending", None), "creating": ("building", None), "pending_writer": ("done", "pending"),
    "writing": ("done", "writing"), "pending_shipment": ("done", "written"), "shipped": ("done", "written"),
    "ready": ("done", None), "expired": ("done", None), "creation_failed": ("failed", None),
    "write_failed": ("done", "failed"), "canceled": ("done", "canceled"),
}
WRITE_PATH = ["received", "downloading", "waiting_for_card", "writing", "verifying", "written"]
CREATE_PATH = ["received", "downloading", "building", "uploading", "done"]
PAGE_STATUS = "pending_writer"  # the operators' queue: a page of the order list filtered by status
BIG_STATUS = "shipped"  # most of the history


class Error(Exception):
    """The benchmark could not measure (a query failed, the data is not as built)."""


# ---- the data ---------------------------------------------------------------------------------------

def _status_of(number, count, in_flight=None):
    """The status of order `number` (0 the oldest) of `count`: the newest few (`in_flight`, by default a
    share of the history) are live, the rest ended."""
    live = count - 1 - number < (in_flight or max(len(LIVE), int(count * LIVE_SHARE)))
    if number % 10 == 0:  # a download order
        return "ready" if live else "expired"
    if live:
        return PHYSICAL_LIVE[number % len(PHYSICAL_LIVE)]
    for every, status in ((211, "creation_failed"), (97, "write_failed"), (41, "canceled")):
        if number % every == 5:
            return status
    return "shipped"


def _advance(doc, machine, events, actor, moment):
    """Apply `events` to `doc` as transitions.py writes them (status, rev, history entry, updated_at)."""
    for event in events:
        status = machine.apply(doc["status"], event)
        doc["statuses"].append({"status": status, "event": event, "at": moment, "by": actor})
        doc.update(status=status, rev=len(doc["statuses"]) - 1, updated_at=moment)
        moment += datetime.timedelta(minutes=7)
    return moment


def _task_path(path, status):
    """The events (task statuses) that take a task to `status`: its steps, or an early ending."""
    return path[:path.index(status) + 1] if status in path else ([] if status == "pending" else path[:2] + [status])


def _order_fields(number):
    download = number % 10 == 0
    digest = hashlib.sha256(str(number).encode()).hexdigest()
    return {
        "recipe": {"output": {"size": "8G"}, "files": [
            {"to": "/data/readme.txt", "content": f"Welcome, reader {number}"},
            {"to": "/data/zims/wikipedia_en_all.zim", "url": "https://content.invalid/wikipedia_en_all.zim",
             "checksum": {"algo": "sha256", "value": digest}}]},
        "sd_card": {"size": 16, "type": "download" if download else "physical"},
        "quantity": 1 if download else (1, 2, 2)[number % 3],  # with the create tasks, 2.5 tasks an order
        "recipient": {"name": f"School {number}", "email": f"school{number}@example.org",
                      "address": f"{number} Library Road, Springfield"},
        "warehouse": "main",
    }


def history(number, count, now, in_flight=None):
    """Order `number` of `count` (0 the oldest, spread over HISTORY_DAYS) with its tasks, as the store writes them."""
    moment = now - datetime.timedelta(days=HISTORY_DAYS) * (count - number) / count
    order, create = orders.new_order(_order_fields(number), "manager1", moment)
    status = _status_of(number, count, in_flight)
    create_status, write_status = TASK_STATUSES[status]
    worker = f"creator{number % 4}@build{number % 3}"
    later = _advance(create, task_machine("create"), _task_path(CREATE_PATH, create_status), worker, moment)
    if create_status != "pending":
        create.update(worker=worker, attempt=1, run=1, last_seq=12, last_report_at=later,
                      progress={"step": create_status, "done": 1.0 if create_status == "done" else 0.4})
    if create_status == "done":
        create["result"] = {"path": f"images/{order['_id']}.img.xz", "size": 7_812_345_678,
                            "checksum": {"algo": "sha256", "value": hashlib.sha256(order["_id"].encode()).hexdigest()}}
    _advance(order, ORDER, PATHS[status], "system", moment)
    if create_status == "done":
        order["image"] = create["result"]
    written = []
    if write_status is not None:
        for copy in range(order["quantity"]):
            writer = f"writer{number % 5}"
            task = tasks.new_task(order["_id"], "write", "system", later, copy=copy, writer=writer)
            _advance(task, task_machine("write"), _task_path(WRITE_PATH, write_status), f"{writer}@host", later)
            if write_status != "pending":
                task.update(worker=f"{writer}@host.slot-{copy + 1}", run=1, last_seq=40, last_report_at=later)
            if write_status == "written":
                written.append({"task": task["_id"], "host": f"{writer}@host", "slot": copy + 1,
                                "serial": f"0x{number:08x}{copy}", "size": 15_931_539_456, "at": later})
            yield "tasks", task
    if written:
        order["cards"] = written
    if status == "shipped":
        order["shipment"] = {"carrier": "post", "tracking": f"RR{number:09d}FR", "shipped_at": order["updated_at"],
                             "by": "manager1"}
    yield "tasks", create
    yield "orders", order


def load(db, count, in_flight=None):
    """Write `count` orders with their tasks in bulk, then the store's indexes; (orders, tasks) written."""
    now = datetime.datetime.now(datetime.timezone.utc)
    batches = {"orders": [], "tasks": []}
    for number in range(count):
        for collection, doc in history(number, count, now, in_flight):
            batches[collection].append(doc)
            if len(batches[collection]) >= BATCH:
                db[collection].insert_many(batches[collection], ordered=False)
                batches[collection] = []
    for collection, docs in batches.items():
        if docs:
            db[collection].insert_many(docs, ordered=False)
    ensure_indexes(db)
    return db.orders.estimated_document_count(), db.tasks.estimated_document_count()


def load_workers(db, count, now):
    """`count` worker records as the monitor files them: writer slots of 4 on each host, a creator per 10."""
    docs = []
    for number in range(count):
        if number % 10 == 0:
            name, role, extra = f"creator{number}@build{number}", "creator", {"active": [], "images": []}
        else:
            name, role, extra = f"writer{number // 40}@host{number // 4}.slot-{number % 4 + 1}", "writer", \
                {"slot": {"number": number % 4 + 1, "state": "idle"}}
        username, _, host = name.partition("@")
        docs.append({"_id": name, "username": username, "host": host.split(".slot-")[0], "role": role,
                     "online": True, "last_seen": now, "live_until": now + datetime.timedelta(seconds=90),
                     "software": {"version": "0.2.0"}, **extra,
                     "first_seen": now})
    db.workers.insert_many(docs, ordered=False)
    return [doc["_id"] for doc in docs]


# ---- timing -----------------------------------------------------------------------------------------

def timed(operation, repetitions, budget):
    """Seconds each call of `operation(i)` took: `repetitions` calls, fewer (at least 5) past `budget` seconds."""
    times, started = [], time.monotonic()
    for index in range(repetitions):
        begun = time.perf_counter()
        operation(index)
        times.append(time.perf_counter() - begun)
        if len(times) >= 5 and time.monotonic() - started > budget:
            break
    return times


def percentile(times, share):
    ordered = sorted(times)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def summary(times):
    return f"p50 {_ms(statistics.median(times))} p95 {_ms(percentile(times, 0.95))} ({len(times)} runs)"


def _ms(seconds):
    return f"{seconds * 1000:.3g} ms" if seconds < 1 else f"{seconds:.2f} s"


# ---- the figures ------------------------------------------------------------------------------------

class Engine:
    """One engine with its data loaded: the queries, timed, as the scheduler sends them."""

    def __init__(self, name, db, repetitions, budget, warm_up=True):
        self.name, self.db, self.repetitions, self.budget, self.warm_up = name, db, repetitions, budget, warm_up
        self.order_ids = [doc["_id"] for doc in db.orders.find({}, {"_id": 1}).limit(2000)]
        if not self.order_ids:
            raise Error(f"{name}: no orders loaded")

    def page(self, status=None):
        """GET /orders[?status=…]: the newest page (cardshop/store/paging.py, time windows back from now)."""
        filters = page_filter(status)
        live = status is not None and status not in ORDER.ended  # as the API asks: one query for live work
        return self.time(lambda _: paging.newest_first(self.db.orders, filters, DEFAULT_PER_PAGE, bounded=live))

    def count(self, status):
        """The page's total: count_documents of the same filter."""
        return self.time(lambda _: self.db.orders.count_documents(page_filter(status)))

    def tasks_of(self):
        """GET /orders/{id}: the order's tasks (orders.tasks_of), a different order each time."""
        ids = self.order_ids
        return self.time(lambda index: orders.tasks_of(self.db, ids[(index * 7919) % len(ids)]))

    def by_status(self):
        """GET /stats/orders: orders.count_by_status, the status counters (one find by _id)."""
        return self.time(lambda _: orders.count_by_status(self.db))

    def time(self, operation):
        if self.warm_up:
            operation(0)  # the first call warms the connection and the caches
        return timed(operation, self.repetitions, self.budget)


def page_filter(status):
    return {} if status is None else {"status": {"$in": [status]}}


def window_command(status):
    """The first query of a page, explained: live work's one query, else the newest window (what it sorts)."""
    if status is not None and status not in ORDER.ended:
        return {"find": "orders", "filter": page_filter(status), "sort": dict(paging.NEWEST_FIRST)}
    start = datetime.datetime.now(datetime.timezone.utc) - paging.FIRST_WINDOW
    return {"find": "orders", "filter": paging.window_filter(page_filter(status), start),
            "sort": dict(paging.NEWEST_FIRST), "limit": DEFAULT_PER_PAGE + 1}


def queries(new, old):
    """(name, new engine's times, old engine's times, the command to explain) of each query."""
    total = new.db.orders.estimated_document_count()
    for status in (PAGE_STATUS, BIG_STATUS):
        share = f"{new.db.orders.count_documents({'status': status}) / total:.1%} of orders"
        how = "one query (live work)" if status not in ORDER.ended else "by time windows"
        yield (f"order list page: status {status} ({share}), newest first {how}, {DEFAULT_PER_PAGE} a page",
               new.page(status), old.page(status), window_command(status))
        yield (f"count by status: count_documents(status {status}), the page's total ({share})",
               new.count(status), old.count(status),
               {"aggregate": "orders", "pipeline": [{"$match": page_filter(status)},
                                                    {"$group": {"_id": 1, "n": {"$sum": 1}}}], "cursor": {}})
    yield ("tasks of one order: tasks.find({order}) sorted by created_at, _id (GET /orders/{id})",
           new.tasks_of(), old.tasks_of(),
           {"find": "tasks", "filter": {"order": new.order_ids[len(new.order_ids) // 2]},
            "sort": {"created_at": 1, "_id": 1}})
    yield (f"order list page, no filter (GET /orders): newest first by time windows, {DEFAULT_PER_PAGE} a page",
           new.page(), old.page(), window_command(None))
    yield ("orders by status: the status counters (GET /stats/orders)", new.by_status(), old.by_status(),
           {"find": "counters", "filter": {"_id": {"$in": [f"orders:{status}" for status in sorted(ORDER.statuses)]}}})


def compare(report, new, old, sizes):
    old_note = f"old engine on {sizes['old']} (10x less data: flatters it)"
    for what, new_times, old_times, command in queries(new, old):
        report(f"database: {what}",
               f"new engine on {sizes['new']}: {summary(new_times)}; {old_note}: {summary(old_times)}",
               statistics.median(old_times) / statistics.median(new_times), SPEEDUP_GOAL, "ratio = old p50 / new p50")
        nodes = plan_nodes(explain(new.db, command))
        notes = []
        if any(node["Node Type"] == "Sort" for node in nodes):
            notes.append("the order comes from a Sort node, not from the index")
        if any(whole_collection(node) for node in nodes):
            notes.append("every document is read")
        report(f"database: explain on the new engine: {what}",
               f"plan: {describe(nodes)}" + "".join(f"; {note}" for note in notes),
               0.0 if any(whole_collection(node) for node in nodes) else 1.0, 1.0,
               "ratio 1 = an index finds the documents, 0 = a full scan")


def heartbeats(db, names, calls, budget):
    """Seconds per workers.file_heartbeat (read the record, upsert it) as the monitor files one."""
    now = datetime.datetime.now(datetime.timezone.utc)

    def beat(index):
        name = names[(index * 7919) % len(names)]
        username, _, host = name.partition("@")
        workers.file_heartbeat(db, name, {"username": username, "host": host.split(".slot-")[0],
                                          "role": "creator" if username.startswith("creator") else "writer",
                                          "online": True, "last_seen": now + datetime.timedelta(seconds=index)}, now)
    beat(0)
    return timed(beat, calls, budget)


def ready_after(database):
    """Seconds until `database` (stopped, or never started) answers a ping as the scheduler would."""
    started = time.monotonic()
    database.start()
    db = connect(database.url, DB_NAME, timeout=30)
    db.command("ping")
    db.client.close()
    return time.monotonic() - started


def run(report, count=ORDERS):
    old_count = max(count // OLD_SHARE, 100)
    with tempfile.TemporaryDirectory(prefix="cardshop-bench-db-") as base:
        database, old_database = FerretDB(base), OldFerretDB(base)
        try:
            cold = ready_after(database)
            old_database.start()
            # The scheduler's timeouts (30 s a call) for the new engine; the old one may take longer than that.
            db, old_db = connect(database.url, DB_NAME), connect(old_database.url, DB_NAME, timeout=300)
            started = time.monotonic()
            loaded = load(db, count)
            new_load = time.monotonic() - started
            database.postgresql.psql("ANALYZE;")  # the statistics autovacuum keeps on a database in use
            started = time.monotonic()
            old_loaded = load(old_db, old_count)
            old_load = time.monotonic() - started
            sizes = {"new": f"{loaded[0]:,} orders, {loaded[1]:,} tasks",
                     "old": f"{old_loaded[0]:,} orders, {old_loaded[1]:,} tasks", "new_orders": loaded[0]}
            print(f"database: loaded {sizes['new']} into FerretDB 2.7/DocumentDB in {new_load:.0f} s and "
                  f"{sizes['old']} into FerretDB 1.24/SQLite in {old_load:.0f} s (the old engine reads every "
                  f"document for each query: at {count:,} orders that is minutes a query, so it holds a tenth)\n",
                  flush=True)
            # The old engine takes 15-20 s a query at 10,000 orders: three runs each, none thrown away.
            compare(report, Engine("new", db, 200, 20), Engine("old", old_db, 3, 0, warm_up=False), sizes)

            now = datetime.datetime.now(datetime.timezone.utc)
            names, old_names = load_workers(db, WORKERS, now), load_workers(old_db, WORKERS, now)
            times, old_times = heartbeats(db, names, 2000, 20), heartbeats(old_db, old_names, 300, 20)
            p95 = percentile(times, 0.95)
            report(f"database: heartbeat upsert (workers.file_heartbeat) with {WORKERS:,} worker records",
                   f"new engine {summary(times)}; old engine {summary(old_times)}; goal p95 <= {HEARTBEAT_P95_MS:g} ms",
                   HEARTBEAT_P95_MS / 1000 / p95, 1.0,
                   f"ratio = {HEARTBEAT_P95_MS:g} ms / p95; "
                   f"old p95 / new p95 = {percentile(old_times, 0.95) / p95:.1f}")
            db.client.close()
            old_db.client.close()

            database.stop()
            warm = ready_after(database)
            report("database: start-up of the local database (devstack FerretDB) until it answers a ping",
                   f"cold (initdb, extension, roles, FerretDB) {cold:.1f} s; warm (holding the data above) "
                   f"{warm:.1f} s; goal <= {STARTUP_SECONDS:g} s each",
                   STARTUP_SECONDS / max(cold, warm), 1.0, f"ratio = {STARTUP_SECONDS:g} s / the slower start")
        finally:
            old_database.stop()
            database.stop()


def main():
    """`python -m bench.database`: these figures alone."""
    from bench.__main__ import failures, report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=ORDERS,
                        help=f"orders on the new engine (default {ORDERS:,}); the old engine holds a tenth")
    args = parser.parse_args()
    run(report, args.orders)
    print(f"\n{len(failures)} goal(s) missed" + (": " + "; ".join(failures) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
