"""Every compare-and-set has exactly one winner on FerretDB 1.24.

FerretDB runs find_one_and_update and update_one with a filter non-atomically
(several concurrent callers "win"); these tests race 20 callers 50 times.
"""

import pytest

from cardshop.client import ApiClient
from cardshop.states import ORDER, IllegalTransition
from cardshop.store import new_id
from cardshop.store.commits import claim
from cardshop.store.transitions import transition
from tests.conftest import order_body
from tests.integration.security.concurrency import race

CALLERS, ROUNDS = 20, 50


def test_of_twenty_concurrent_claims_of_one_commit_exactly_one_wins(db):
    for _ in range(ROUNDS):
        key = f"test/{new_id()}"
        results = race(CALLERS, lambda index: claim(db, key, {"caller": index}))
        assert results.count(True) == 1 and results.count(False) == CALLERS - 1, results
        assert db.commits.find_one({"_id": key})["caller"] == results.index(True)


def _order_doc(status):
    return {"_id": new_id(), "status": status, "rev": 0,
            "statuses": [{"status": status, "event": "created", "at": None, "by": "test"}]}


def test_of_twenty_concurrent_transitions_from_one_status_exactly_one_lands(db):
    for _ in range(ROUNDS):
        order = _order_doc("pending_shipment")
        db.orders.insert_one(order)
        events = ["cancel", "ship"] * (CALLERS // 2)
        results = race(CALLERS, lambda index: transition(db.orders, order["_id"], ORDER, events[index], f"c{index}"))
        winners = [index for index, result in enumerate(results) if isinstance(result, dict)]
        assert len(winners) == 1, results
        assert all(isinstance(result, (dict, IllegalTransition)) for result in results), results
        stored = db.orders.find_one({"_id": order["_id"]})
        assert stored["status"] == results[winners[0]]["status"]
        assert [entry["by"] for entry in stored["statuses"]] == ["test", f"c{winners[0]}"]


@pytest.fixture
def operator(admin, scheduler):
    return admin


def test_concurrent_cancel_and_ship_through_the_api_answer_200_once(operator, db, warehouse):
    for _ in range(ROUNDS):
        order = operator.post("/orders", order_body()).body
        db.orders.update_one({"_id": order["_id"]}, {"$set": {"status": "pending_shipment"}})

        def act(index):
            if index % 2:
                return operator.post(f"/orders/{order['_id']}/cancel", {"reason": f"c{index}"})
            return operator.post(f"/orders/{order['_id']}/ship", {"carrier": "post", "tracking_number": f"t{index}"})

        replies = race(CALLERS, act)
        ok = [reply for reply in replies if reply.status == 200]
        assert len(ok) == 1 and all(reply.status == 409 for reply in replies if reply.status != 200), replies
        assert operator.get(f"/orders/{order['_id']}").body["status"] == ok[0].body["status"]


def test_twenty_concurrent_refreshes_with_one_token_give_one_new_pair(scheduler, make_user):
    user = make_user("manager")
    refresh_token = user.refresh
    client = ApiClient(scheduler.url)
    for _ in range(ROUNDS):
        replies = race(CALLERS, lambda index: client.post("/auth/token", {"refresh_token": refresh_token}))
        ok = [reply for reply in replies if reply.status == 200]
        assert len(ok) == 1 and all(reply.status == 401 for reply in replies if reply.status != 200), replies
        # The others presented a spent token: the session is revoked; log in again for the next round.
        login = client.post("/auth/authorize", {"username": user.username, "password": user.password})
        refresh_token = login.body["refresh_token"]


def test_of_twenty_runs_claiming_one_task_at_once_on_twenty_monitors_exactly_one_takes_it(db):
    from cardshop.monitor.claims import ClaimDecider
    from cardshop.pipeline.claims import grant_digest, new_grant
    from cardshop.store import now
    from cardshop.store.tasks import new_task
    creator = f"crea{new_id()}"
    db.users.insert_one({"_id": new_id(), "username": creator, "email": f"{creator}@cardshop.invalid",
                         "role": "creator", "active": True})
    monitors = [ClaimDecider(db, lambda username: "creator") for _ in range(CALLERS)]  # one per monitor process
    for _ in range(ROUNDS):
        grant = new_grant()
        task = new_task(new_id(), "create", "test", now(), grant_digest=grant_digest(grant))
        db.tasks.insert_one(task)

        def request(index):
            return {"type": "claim", "task": task["_id"], "attempt": 1, "grant": grant, "run": f"{index:032x}",
                    "worker": f"{creator}@host-{index}", "instance": f"{index:032x}"}

        results = race(CALLERS, lambda index: monitors[index].decide(request(index), creator)["decision"])
        assert results.count("accepted") == 1, results
        winner = f"{results.index('accepted'):032x}"
        # Each run is taken over by one run only: one commit, naming the winner, and the task shows it.
        prefix = f"tasks/{task['_id']}/after-run/"
        assert [record["run"] for record in db.commits.find({"_id": {"$regex": f"^{prefix}"}})] == [winner]
        stored = db.tasks.find_one({"_id": task["_id"]})
        assert (stored["run"], stored["runs"], stored["status"]) == (winner, 1, "received")


def test_each_replaced_auto_image_is_handed_to_exactly_one_of_twenty_concurrent_swaps(db):
    from cardshop.store.commits import swap
    for _ in range(ROUNDS // 5):
        name = f"auto{new_id()}"
        results = race(CALLERS, lambda index: swap(db.auto_images, name, {"order": f"o{index}"}))
        replaced = [result["order"] if result else None for result in results]
        # every build but the last is replaced exactly once, and the first replaced nothing
        assert replaced.count(None) == 1 and len(set(replaced)) == CALLERS
        final = db.auto_images.find_one({"_id": name})["order"]
        assert final not in replaced and final in {f"o{index}" for index in range(CALLERS)}
