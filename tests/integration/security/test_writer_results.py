"""A write task's `written` counts only from its writer host and with a result that matches the order."""

import uuid

import pytest

from cardshop.pipeline.claims import new_grant
from devstack.processes import wait_until
from tests.integration.claiming import claim
from tests.integration.conftest import dropped
from tests.integration.pipeline.test_monitor import order_in, order_of
from tests.integration.security.writer_host import IMAGE_SIZE, WriterHost, order_waiting_for_writers, write_tasks


def task_of(pipeline, task_id):
    return pipeline.admin.get(f"/tasks/{task_id}").body


def a_host_with_the_image(hostile, slots=2):
    host = WriterHost(hostile("writer"))

    def holds(order):
        host.images = [order["_id"]]
        host.slots(*["ready"] * slots)
    return host, holds


FORGERIES = {
    "another image": lambda order, host: host.result(order, image="someone-else"),
    "another checksum": lambda order, host: host.result(order, sha256="f" * 64),
    "another image size": lambda order, host: host.result(order, image_size=IMAGE_SIZE + 1),
    "bytes not read back": lambda order, host: host.result(order, verified_bytes=4),
    "nothing mapped": lambda order, host: host.result(order, mapped_bytes=0, verified_bytes=0),
    "a card too small": lambda order, host: host.result(order, card={"size": IMAGE_SIZE - 1, "serial": None}),
    "a slot the host never had": lambda order, host: host.result(order, slot=9),
    "another host's name": lambda order, host: host.result(order, host="elsewhere"),
    "no result": lambda order, host: None,
    "a missing field": lambda order, host: {k: v for k, v in host.result(order).items() if k != "card"},
    "the same card twice": lambda order, host: host.result(order, serial="0xCAFE"),
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_forged_written_result_fails_the_task_and_never_counts_a_card(pipeline, hostile, forgery):
    creator = hostile("creator")
    host, holds = a_host_with_the_image(hostile)
    order = order_waiting_for_writers(pipeline, creator, quantity=2, before_done=holds)
    honest, forged = write_tasks(order)
    assert {honest["writer"], forged["writer"]} == {host.username}
    host.write(honest["_id"], host.result(order, serial="0xCAFE"))
    wait_until(lambda: task_of(pipeline, honest["_id"])["status"] == "written")

    host.write(forged["_id"], FORGERIES[forgery](order, host), steps=("writing", "verifying"))
    ended = order_in(pipeline, order["_id"], ("write_failed", "pending_shipment"))
    assert ended["status"] == "write_failed"
    task = task_of(pipeline, forged["_id"])
    assert task["status"] == "failed" and task["reason"].startswith("result refused: "), task.get("reason")
    assert "result" not in task
    assert [card["task"] for card in ended["cards"]] == [honest["_id"]]
    assert ended["statuses"][-1]["note"] == task["reason"]


def test_only_the_tasks_writer_host_may_report_it_written(pipeline, pipeline_db, hostile):
    creator = hostile("creator")
    host, holds = a_host_with_the_image(hostile, slots=1)
    order = order_waiting_for_writers(pipeline, creator, quantity=1, before_done=holds)
    (task,) = write_tasks(order)
    intruder = WriterHost(hostile("writer"))
    intruder.slots("ready")
    before = dropped(pipeline_db, "refused")
    # It never got the message: a claim with a made-up grant is refused, and reports of a run it made up too.
    forged = {"task": task["_id"], "grant": new_grant()}
    assert claim(intruder.account.app, intruder.username, forged, host=intruder.host, slot=1,
                 card={"size": 4 * 10 ** 9, "serial": None})["decision"] == "refused"
    run = uuid.uuid4().hex
    for status in ("received", "downloading", "writing", "verifying"):
        intruder.report(task["_id"], run, status)
    intruder.report(task["_id"], run, "written", result={**host.result(order), "host": intruder.host})
    wait_until(lambda: dropped(pipeline_db, "refused") >= before + 5)
    assert task_of(pipeline, task["_id"])["status"] == "pending"
    assert order_of(pipeline, order["_id"])["status"] == "pending_writer"


def test_verified_cards_land_in_the_order_and_the_last_one_makes_it_pending_shipment(pipeline, hostile):
    creator = hostile("creator")
    host, holds = a_host_with_the_image(hostile)
    order = order_waiting_for_writers(pipeline, creator, quantity=2, before_done=holds)
    first, second = write_tasks(order)
    host.write(first["_id"], host.result(order, slot=1, serial="0x0001"))
    writing = order_in(pipeline, order["_id"], ("writing",))
    wait_until(lambda: order_of(pipeline, order["_id"]).get("cards"))
    # The second card is pulled out mid-write: the task goes back to the queue, then another card takes it.
    payload = host.take(second["_id"])
    run = host.claim(second["_id"], slot=2, payload=payload)
    host.report(second["_id"], run, "writing")
    host.report(second["_id"], run, "requeued", note="slot 2: card removed while writing; back to the queue")
    wait_until(lambda: task_of(pipeline, second["_id"])["status"] == "requeued")
    assert order_of(pipeline, order["_id"])["status"] == "writing"
    # The message went back to the queue with the card's `requeued`: another card claims it.
    host.write(second["_id"], host.result(order, slot=2, serial=None),
               run=host.claim(second["_id"], slot=2, payload=payload))
    done = order_in(pipeline, order["_id"], ("pending_shipment",))
    assert writing["status"] == "writing"
    cards = {card["task"]: card for card in done["cards"]}
    assert set(cards) == {first["_id"], second["_id"]}
    assert (cards[first["_id"]]["host"], cards[first["_id"]]["slot"], cards[first["_id"]]["serial"],
            cards[first["_id"]]["size"]) == (host.host, 1, "0x0001", 4 * 10 ** 9)
    assert cards[second["_id"]]["slot"] == 2 and cards[second["_id"]]["serial"] is None
    assert all(card["at"] for card in cards.values())
    statuses = [entry["status"] for entry in task_of(pipeline, second["_id"])["statuses"]]
    assert statuses == ["pending", "received", "writing", "requeued", "received", "downloading", "writing",
                        "verifying", "written"]
    assert task_of(pipeline, first["_id"])["result"]["card"]["serial"] == "0x0001"


def test_a_write_failed_order_is_retried_on_the_cards_still_to_write(pipeline, hostile):
    # A writer host played through the real broker: one card written, the other refused.
    creator = hostile("creator")
    host = WriterHost(hostile("writer"))

    def holds(order):
        host.images = [order["_id"]]
        host.slots("ready", "ready")
    order = order_waiting_for_writers(pipeline, creator, quantity=2, before_done=holds)
    good, bad = write_tasks(order)
    host.write(good["_id"], host.result(order, serial="0x1"))
    host.write(bad["_id"], host.result(order, slot=2, verified_bytes=4))  # not read back: refused, task failed
    order_in(pipeline, order["_id"], ("write_failed",))

    reply = pipeline.admin.post(f"/orders/{order['_id']}/retry", {"reason": "a new card is in"})
    assert reply.status == 200, reply
    assert reply.body["status"] == "pending_writer"
    (redo,) = [task for task in write_tasks(reply.body) if task["status"] == "pending"]
    assert (redo["retry_of"], redo["attempt"], redo["writer"]) == (bad["_id"], 2, host.username)
    assert redo["published_at"]
    host.write(redo["_id"], host.result(order, slot=2, serial="0x2"))
    done = order_in(pipeline, order["_id"], ("pending_shipment",))
    assert sorted(card["serial"] for card in done["cards"]) == ["0x1", "0x2"]
