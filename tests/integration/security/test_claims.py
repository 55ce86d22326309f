"""Claims (docs/decisions/claims.md): what a worker account may claim, and how concurrent claims are settled.

The attacks: a second creator account claims, uploads and
finishes a task it was never delivered; copies of a task (republished,
redelivered after it ended) are claimed again; many claims of one delivery
race, on two monitors at once.
"""

import threading
import uuid

import pytest

from cardshop.client import ApiClient
from cardshop.client.warehouse import WarehouseClient, WarehouseError
from cardshop.pipeline.celery_app import make_celery
from cardshop.pipeline.claims import ClaimClient, new_grant
from cardshop.pipeline.publish import Publisher
from cardshop.pipeline.reports import Reporter
from devstack.processes import wait_until
from devstack.servers import Monitor
from tests.conftest import order_body
from tests.integration.claiming import accepted, claim
from tests.integration.pipeline.test_monitor import create_task_of, order_of, stored_result, take_message

DOWNLOAD = {"sd_card": {"size": 4, "type": "download"}, "quantity": 1}


@pytest.fixture(scope="module")
def second_monitor(pipeline):
    """Another monitor on the same broker and database: claims are then decided by two processes at once."""
    monitor = Monitor(pipeline.base, pipeline.ferretdb.url, pipeline.db_name, pipeline.rabbitmq.url,
                      pipeline.system_password_file, pipeline.scheduler.url, name="monitor-2")
    monitor.start()
    yield monitor
    monitor.stop()


@pytest.fixture(scope="module")
def system_publisher(pipeline, pipeline_db):
    app = make_celery({"url": pipeline.rabbitmq.url, "username": "cardshop-system",
                       "password_file": pipeline.system_password_file, "heartbeat": 10}, "test-publisher")
    return Publisher(app, pipeline_db)


def delivered(pipeline, app, **order):
    """A new download order's create task and the kwargs of its message, taken from `create` as a creator."""
    placed = pipeline.admin.post("/orders", order_body(**{**DOWNLOAD, **order})).body
    task_id = create_task_of(placed)["_id"]
    return placed, task_id, take_message(app, "create", task_id)[1]


def test_of_many_concurrent_claims_of_one_delivery_exactly_one_is_accepted(pipeline, pipeline_db, second_monitor):
    accounts = [pipeline.worker("creator") for _ in range(4)]
    for _ in range(3):
        _, task_id, kwargs = delivered(pipeline, accounts[0][2])
        clients = [ClaimClient(app, username, f"host-{index}") for index, (username, _, app) in
                   enumerate(accounts * 5)]
        bodies = [client.request(kwargs, uuid.uuid4().hex) for client in clients]
        for client in clients:
            client.ask({**client.request(kwargs, "0" * 32), "grant": "x" * 16}, timeout=5)  # connect first
        barrier, answers = threading.Barrier(len(clients)), {}

        def attempt(index):
            barrier.wait()
            answers[index] = clients[index].ask(bodies[index], timeout=15)

        threads = [threading.Thread(target=attempt, args=(index,)) for index in range(len(clients))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        for client in clients:
            client.close()
        decisions = [answer and answer["decision"] for answer in answers.values()]
        assert decisions.count("accepted") == 1, decisions
        assert set(decisions) <= {"accepted", "wait", "refused"}, decisions
        winner = next(bodies[index] for index, answer in answers.items() if answer["decision"] == "accepted")
        task = pipeline_db.tasks.find_one({"_id": task_id})
        assert (task["run"], task["worker"], task["runs"], task["status"]) == (
            winner["run"], winner["worker"].partition("@")[0], 1, "received")
        assert pipeline_db.commits.count_documents({"_id": {"$regex": f"^tasks/{task_id}/after-run/"}}) == 1


def test_a_second_creator_can_neither_claim_upload_nor_finish_a_task_it_was_not_delivered(pipeline, pipeline_db):
    holder, _, holder_app = pipeline.worker("creator")
    thief, thief_password, thief_app = pipeline.worker("creator")
    order, task_id, kwargs = delivered(pipeline, holder_app)
    for forged in ({**kwargs, "grant": new_grant()}, {**kwargs, "grant": "A" * 32}):
        answer = claim(thief_app, thief, forged)
        assert answer["decision"] == "refused" and "superseded" in answer["reason"], answer
    # The attack seen on the old code: `received`, an upload of its own, `done`.
    forged_run = Reporter(thief_app, thief, task_id)
    forged_run.status("received")
    token = ApiClient(pipeline.scheduler.url).post(
        "/auth/authorize", {"username": thief, "password": thief_password}).body["access_token"]
    with WarehouseClient(pipeline.warehouse.url, thief, token) as client:
        with pytest.raises(WarehouseError, match="550|privileges|not"):
            client.upload(__file__, task_id)
    forged_run.status("done", result=stored_result(pipeline, order, task_id))
    # The recipient claims it; the thief, even with the stolen grant, gets no share of it.
    run = accepted(holder_app, holder, kwargs)
    stolen = claim(thief_app, thief, kwargs)
    assert stolen["decision"] in ("wait", "refused"), stolen
    forged_run.status("done", result=stored_result(pipeline, order, task_id))
    Reporter(holder_app, holder, task_id, run=run).progress("after the forgeries", 1, 2, 0)
    task = wait_until(lambda: (lambda task: (task.get("progress") or {}).get("step") == "after the forgeries"
                                            and task)(pipeline_db.tasks.find_one({"_id": task_id})))
    assert (task["status"], task["worker"], task["run"]) == ("received", holder, run)
    assert order_of(pipeline, order["_id"])["status"] == "creating"


def test_a_copy_of_an_earlier_publication_is_refused_and_the_holder_keeps_its_lease(pipeline, system_publisher):
    creator, _, app = pipeline.worker("creator")
    _, task_id, first = delivered(pipeline, app)
    assert system_publisher.publish(pipeline.admin.get(f"/tasks/{task_id}").body)  # the beat thought it lost
    second = take_message(app, "create", task_id)[1]
    assert second["grant"] != first["grant"]
    assert claim(app, creator, first)["decision"] == "refused"
    run = accepted(app, creator, second)
    # Published again while held (a race with the beat): the holder's renewals still hold.
    assert not system_publisher.publish(pipeline.admin.get(f"/tasks/{task_id}").body), "only queued tasks go out"
    assert claim(app, creator, first, run=run, renew=True)["decision"] == "accepted"


def test_a_redelivered_copy_of_an_ended_task_is_refused(pipeline):
    creator, _, app = pipeline.worker("creator")
    order, task_id, kwargs = delivered(pipeline, app)
    reporter = Reporter(app, creator, task_id, run=accepted(app, creator, kwargs, instance="1" * 32))
    reporter.status("done", result=stored_result(pipeline, order, task_id))
    wait_until(lambda: order_of(pipeline, order["_id"])["status"] == "ready")
    # The worker died after `done`, before its ack: its restarted process gets the message again.
    answer = claim(app, creator, kwargs, instance="2" * 32)
    assert answer["decision"] == "refused" and "done" in answer["reason"], answer
    renewal = claim(app, creator, kwargs, run=reporter.run, renew=True, instance="1" * 32)
    assert renewal["decision"] == "refused", renewal


def test_a_claim_held_by_a_live_run_elsewhere_waits_then_is_refused(pipeline):
    creator, _, app = pipeline.worker("creator")
    _, task_id, kwargs = delivered(pipeline, app)
    accepted(app, creator, kwargs, host="host-a")
    answer = claim(app, creator, kwargs, host="host-b")  # a redelivery while the holder may be alive
    assert answer["decision"] == "wait" and answer["retry_after"] > 0, answer
