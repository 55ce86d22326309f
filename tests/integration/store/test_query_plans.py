"""Every named store query (cardshop.store.queries) finds its documents through an index: explained on
FerretDB 2 over PostgreSQL with DocumentDB, against a shop's history (thousands of orders, almost all
ended, a few in flight) and the statistics PostgreSQL keeps on it, no plan reads a whole collection."""

import datetime

import pymongo
import pytest

from cardshop.states import ORDER
from cardshop.store import ensure_indexes, new_id, orders, queries, tasks
from cardshop.store.plans import describe, explain, plan_nodes, whole_collection

ORDERS = 6000
LIVE_EVERY = 100  # one order in a hundred is still in the works
DB_NAME = "query_plans"


def _history(number, now):
    """Order `number` (0 the oldest, one an hour) with its tasks, as the store writes them."""
    moment = now - datetime.timedelta(hours=ORDERS - number)
    order, create = orders.new_order({"recipe": {"files": []}, "sd_card": {"size": 16, "type": "physical"},
                                      "quantity": 2, "warehouse": "main",
                                      "recipient": {"name": f"School {number}", "email": f"s{number}@example.org"}},
                                     "manager1", moment)
    live = number % LIVE_EVERY == 0
    order["status"] = ("created", "creating", "pending_writer", "writing", "pending_shipment", "ready")[
        number // LIVE_EVERY % 6] if live else ("creation_failed" if number % 97 == 5 else "shipped")
    if order["status"] in ORDER.final:
        order["image_deleted_at"] = moment
    ended = order["status"] not in ("created", "creating")
    create.update(status="done" if ended else ("pending" if order["status"] == "created" else "building"),
                  worker=f"creator-{number % 3}", published_at=moment, last_report_at=moment)
    yield "tasks", create
    if order["status"] in ("pending_writer", "writing", "pending_shipment", "shipped"):
        for copy in range(2):
            write = tasks.new_task(order["_id"], "write", "system", moment, copy=copy, writer=f"writer-{number % 7}")
            write.update(status={"pending_writer": "pending", "writing": "writing"}.get(order["status"], "written"),
                         worker=f"writer-{number % 7}", published_at=moment, last_report_at=moment)
            yield "tasks", write
    for seq in range(3):
        yield "task_logs", {"_id": f"{create['_id']}:1:{seq}", "task": create["_id"], "run": "1", "seq": seq,
                            "level": "info", "message": "step", "at": moment}
    yield "commits", {"_id": f"orders/{order['_id']}/1", "at": moment, "changes": {}, "entry": {}}
    yield "orders", order


def seed(database, now):
    """The history, worker records, tokens and failed logins of a shop, in bulk; then the store's indexes."""
    batches = {}
    for number in range(ORDERS):
        for collection, doc in _history(number, now):
            batches.setdefault(collection, []).append(doc)
    slots = [(f"writer-{n // 4}", f"rack-{n // 4}", n % 4 + 1) for n in range(2000)]
    batches["workers"] = [{"_id": f"{user}@{host}.slot-{number}", "username": user, "host": host, "role": "writer",
                           "online": n % 5 > 0, "last_seen": now - datetime.timedelta(minutes=n),
                           "slot": {"state": "ready"}} for n, (user, host, number) in enumerate(slots)]
    batches["writer_slots"] = [{"_id": f"{user}@{host}.slot-{number}", "username": user, "host": host,
                                "number": number} for user, host, number in slots]
    batches["refresh_tokens"] = [{"_id": new_id(), "family": new_id(), "username": f"user-{n % 50}",
                                  "expires_at": now + datetime.timedelta(hours=n)} for n in range(3000)]
    batches["failed_logins"] = [{"_id": new_id(), "username": f"user-{n % 50}", "address": "192.0.2.1",
                                 "at": now - datetime.timedelta(minutes=n),
                                 "expires_at": now + datetime.timedelta(minutes=n)} for n in range(3000)]
    batches["users"] = [{"_id": new_id(), "username": f"user-{n}", "email": f"user-{n}@example.org",
                         "role": ("admin", "manager", "creator", "writer")[n % 4], "active": True,
                         **({"notify": ["order_failed", "host_offline"]} if n % 10 == 0 else {})} for n in range(2000)]
    # The notifications sent over the history, a few pending.
    batches["notifications"] = [{"_id": f"order_written:{n}:4:user-0", "state": "pending" if n % 500 == 0 else "sent",
                                 "next_try": now - datetime.timedelta(hours=n)} for n in range(6000)]
    for collection, docs in batches.items():
        database[collection].insert_many(docs, ordered=False)
    ensure_indexes(database)


@pytest.fixture(scope="module")
def db(ferretdb):
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    client.drop_database(DB_NAME)
    database = client[DB_NAME]
    seed(database, datetime.datetime.now(datetime.timezone.utc))
    ferretdb.postgresql.psql("ANALYZE;")  # the statistics autovacuum keeps on a database in use
    yield database
    client.drop_database(DB_NAME)
    client.close()


@pytest.mark.parametrize("query", queries.QUERIES, ids=lambda query: query.name.split(" ")[0])
def test_a_named_query_finds_its_documents_through_an_index(db, query):
    nodes = plan_nodes(explain(db, query.command()))
    assert not any(whole_collection(node) for node in nodes), \
        f"{query.name} reads the whole {query.collection} collection: {describe(nodes)}"
    assert any("Index Name" in node for node in nodes), f"{query.name} uses no index: {describe(nodes)}"
