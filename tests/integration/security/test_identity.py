"""A heartbeat is filed under its sender (RabbitMQ's user_id), never under the name it claims."""

import amqp

from devstack.processes import wait_until
from tests.integration.conftest import dropped, register_slots


def test_a_writer_cannot_speak_for_another_worker_or_invent_hosts(pipeline, pipeline_db, hostile):
    writer, creator = hostile("writer"), hostile("creator")
    victim = f"{creator.username}@host"
    creator.heartbeat(active=1)
    wait_until(lambda: pipeline.admin.get(f"/workers/{victim}").body.get("online") is True)
    before = dropped(pipeline_db, "refused", "anonymous")

    # Once, a Celery event in the creator's name marked it offline.
    try:
        writer.publish({"type": "worker-offline", "hostname": victim, "timestamp": 0},
                       exchange="celeryev", routing_key="worker.offline")
    except amqp.exceptions.AccessRefused:
        pass
    writer.heartbeat(worker=victim, online=False)  # the creator's name, from the writer
    writer.heartbeat(worker="ghost@far", slots=8)  # a host nobody runs, with 8 slots
    other = hostile("writer")
    writer.heartbeat(worker=f"{other.username}@host", slots=8)  # another writer host's name
    writer.publish(  # no user_id at all
        {"type": "heartbeat", "worker": f"{writer.username}@host", "online": True, "at": "2026-01-01T00:00:00Z"},
        user_id=False)
    wait_until(lambda: dropped(pipeline_db, "refused", "anonymous") >= before + 4, timeout=20)

    register_slots(pipeline.admin, writer.username, "host", [1, 2, 3])
    writer.heartbeat(slots=3)  # its own name, a host with registered slots: filed
    wait_until(lambda: pipeline.admin.get(f"/workers/{writer.username}@host").body.get("slots") == 3)
    assert pipeline.admin.get(f"/workers/{victim}").body["online"] is True
    for invented in ("ghost@far", f"{other.username}@host"):
        assert pipeline.admin.get(f"/workers/{invented}").status == 404
