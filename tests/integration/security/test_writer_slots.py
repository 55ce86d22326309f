"""Slot registration and worker records: a writer speaks only for the slots an operator registered;
no worker account can flood the fleet view with invented hosts.

Before these checks, a writer account heartbeated eight "ready" slots on a host nobody runs and drew a
physical order to itself, and 3,000 heartbeats for invented hosts made 2,849 worker records that never
went away.
"""

import time

from cardshop.client import ApiClient
from devstack.processes import wait_until
from tests.integration.conftest import dropped, monitor_did
from tests.integration.security.conftest import heartbeat
from tests.integration.security.writer_host import WriterHost, only_these_writers, order_waiting_for_writers, \
    write_tasks

MAX_RECORDS_PER_CREATOR = 32  # the monitor's default monitor.max_hosts_per_account


def records_of(pipeline_db, username):
    return pipeline_db.workers.count_documents({"username": username})


def test_invented_slots_and_hosts_are_refused_create_no_record_and_draw_no_order(pipeline, pipeline_db, hostile):
    creator = hostile("creator")
    honest = WriterHost(hostile("writer"), "honest", registered=1)
    attacker = WriterHost(hostile("writer"), "real-rack", registered=1)  # its one real, registered slot
    forged = WriterHost(attacker.account, "invented", registered=0)
    only_these_writers(pipeline_db, honest, attacker)
    token = ApiClient(pipeline.scheduler.url).post(
        "/auth/authorize", {"username": attacker.username, "password": attacker.account.password}).body
    grab = ApiClient(pipeline.scheduler.url, token["access_token"]).request(
        "PUT", f"/writer-hosts/{attacker.username}@invented/slots",
        {"slots": [{"number": n, "reader": {"match": {"DEVNAME": "/dev/x"}, "device": "/dev/x"}} for n in range(1, 9)]})
    assert grab.status == 403  # a writer cannot register its own slots

    honest.slots("ready")
    before = dropped(pipeline_db, "refused")
    for number in range(1, 9):  # eight "ready" slots on a host nobody runs
        forged.slot(number, "ready")
    for number in range(2, 9):  # and seven more on its real host than were registered
        attacker.slot(number, "ready")
    attacker.account.heartbeat(worker=f"{attacker.username}@invented", slots=8)  # host-wide
    wait_until(lambda: dropped(pipeline_db, "refused") >= before + 8 + 7 + 1, timeout=30)
    assert pipeline_db.workers.count_documents({"username": attacker.username}) == 0
    assert pipeline.admin.get(f"/workers/{attacker.username}@invented").status == 404

    order = order_waiting_for_writers(pipeline, creator, quantity=2)
    assert {task["writer"] for task in write_tasks(order)} == {honest.username}


def test_an_operator_registers_a_slot_then_its_heartbeats_are_filed_until_it_is_unregistered(pipeline, pipeline_db,
                                                                                             hostile):
    host = WriterHost(hostile("writer"), "rack-9", registered=0)
    slot_worker = f"{host.name}.slot-1"
    before = dropped(pipeline_db, "refused")
    host.slot(1, "ready")
    monitor_did(pipeline, lambda: dropped(pipeline_db, "refused") > before, "refused the unregistered slot's heartbeat")
    assert pipeline_db.workers.find_one({"_id": slot_worker}) is None

    registered = pipeline.admin.request("PUT", f"/writer-hosts/{host.name}/slots", {"slots": [
        {"number": 1, "reader": {"match": {"ID_PATH": "pci-0000:00:14.0-usb-0:1:1.0"}, "device": "/dev/sdb"}}]})
    assert registered.status == 200, registered

    def filed():  # the slot beats again (the monitor may have read the registrations up to 3 s ago)
        host.slot(1, "empty")
        return (pipeline_db.workers.find_one({"_id": slot_worker}) or {}).get("slot", {}).get("state") == "empty"
    wait_until(filed, timeout=20, interval=0.5)
    assert pipeline.admin.get(f"/workers/{host.name}").body["slot_states"][0]["state"] == "empty"

    assert pipeline.admin.delete(f"/writer-hosts/{host.name}/slots/1").status == 204
    assert pipeline_db.workers.find_one({"_id": slot_worker}) is None  # gone at once
    assert pipeline.admin.get(f"/workers/{host.name}").status == 404


def test_3000_invented_heartbeats_leave_at_most_the_bound_of_records_and_workers_stays_fast(pipeline, pipeline_db,
                                                                                           hostile):
    writer, creator = hostile("writer"), hostile("creator")
    before = dropped(pipeline_db, "refused")
    started = time.monotonic()
    writer.flood([heartbeat(f"{writer.username}@ghost-{n // 8}.slot-{n % 8 + 1}", slots=1,
                            slot={"number": n % 8 + 1, "state": "ready"}) for n in range(1500)])
    creator.flood([heartbeat(f"{creator.username}@ghost-{n}", active=0) for n in range(1500)])
    refused = 1500 + 1500 - MAX_RECORDS_PER_CREATOR
    wait_until(lambda: dropped(pipeline_db, "refused") >= before + refused, timeout=120, interval=0.5)
    print(f"figure: 3,000 invented heartbeats published and applied in {time.monotonic() - started:.1f} s")
    assert records_of(pipeline_db, writer.username) == 0
    assert records_of(pipeline_db, creator.username) == MAX_RECORDS_PER_CREATOR

    started = time.monotonic()
    listed = pipeline.admin.get("/workers?per_page=200")
    took = time.monotonic() - started
    print(f"figure: GET /workers?per_page=200 after the flood: {took:.2f} s ({listed.body['total']} workers)")
    assert listed.status == 200 and took < 2.0
