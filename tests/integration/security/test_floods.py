"""No worker account can starve the others: bombs, floods and purges, from a real account.

- a compressed message is dropped before anything is inflated;
- one account's flood of 8 kB log lines waits in its own queue while another
  account's task goes on, and a task's log is capped;
- a creator that purges the shared `create` queue costs at most a minute:
  the beat sees the queue short and publishes what it lost again.
"""

import bz2
import threading
import time
import uuid

import amqp
import pytest

from cardshop.pipeline.claims import ClaimClient
from cardshop.pipeline.reports import Reporter
from cardshop.store.task_logs import HEAD_BYTES, TAIL_LINES
from devstack.processes import wait_until
from tests.conftest import order_body
from tests.integration.claiming import accepted
from tests.integration.conftest import beat_running_only, dropped
from tests.integration.pipeline.test_monitor import create_task_of, take_message, take_messages

pytestmark = pytest.mark.fault  # floods: the fault tier (make test-faults)

DOWNLOAD = {"sd_card": {"size": 4, "type": "download"}, "quantity": 1}
FLOOD, LINE = 5000, 8000


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))


def held_task(pipeline, role="creator"):
    """A new download order's create task, claimed by a new account: (username, app, task id, run)."""
    username, _, app = pipeline.worker(role)
    order = pipeline.admin.post("/orders", order_body(**DOWNLOAD)).body
    task_id = create_task_of(order)["_id"]
    return username, app, task_id, accepted(app, username, take_message(app, "create", task_id)[1])


def test_a_compressed_message_is_dropped_before_it_is_inflated(pipeline, pipeline_db, hostile):
    attacker = hostile("creator")
    bomb = bz2.compress(b"\0" * 300_000_000)  # a few hundred bytes that inflate to 300 MB
    assert len(bomb) < 20000
    monitor_pid = pipeline.monitor.process.popen.pid
    before, rss_before = dropped(pipeline_db, "compressed"), rss_kib(monitor_pid)
    for _ in range(3):
        attacker.publish(bomb, headers={"compression": "application/x-bz2"})
    wait_until(lambda: dropped(pipeline_db, "compressed") >= before + 3)
    assert rss_kib(monitor_pid) - rss_before < 100 * 1024, "nothing was inflated"


def test_oversized_and_foreign_content_types_are_dropped_unread(pipeline, pipeline_db, hostile):
    attacker = hostile("creator")
    before = dropped(pipeline_db, "too_large", "undecodable")
    attacker.publish(b"[" * 100_000)  # too large (and a nesting bomb)
    attacker.publish(b"\x80\x04K\x01.", content_type="application/x-python-serialize")  # a pickle
    attacker.publish(b"[" * 50_000 + b"]" * 50_000)  # within no limit but depth
    wait_until(lambda: dropped(pipeline_db, "too_large", "undecodable") >= before + 3)


def test_one_accounts_log_flood_does_not_hold_up_another_accounts_task(pipeline, pipeline_db):
    flooder, flood_app, flood_task, flood_run = held_task(pipeline)
    honest, honest_app, honest_task, honest_run = held_task(pipeline)
    line = "x" * LINE
    flood = Reporter(flood_app, flooder, flood_task, run=flood_run)
    sender = threading.Thread(target=lambda: [flood.log(line) for _ in range(FLOOD)], daemon=True)
    sender.start()
    wait_until(lambda: queued_reports(pipeline, flooder) > 500, timeout=60)
    reporter = Reporter(honest_app, honest, honest_task, run=honest_run)
    for step in ("downloading", "building", "uploading"):
        reporter.status(step)
        # Applied while most of the flood still waits in its own queue.
        wait_until(lambda: pipeline_db.tasks.find_one({"_id": honest_task})["status"] == step, timeout=30)
        assert queued_reports(pipeline, flooder) > 100, "the other account's report waited for the flood"
    sender.join(120)
    counted = lambda: (lambda task: task.get("log_lines", 0) + task.get("log_tail", 0))(  # noqa: E731
        pipeline_db.tasks.find_one({"_id": flood_task}))
    wait_until(lambda: counted() == FLOOD, timeout=240)
    # The monitor counts a line, then files it, then trims the tail: wait for the last line's trim.
    last_filed = lambda: pipeline_db.task_logs.find_one({"task": flood_task, "seq": flood.last_seq})  # noqa: E731
    tail = lambda: pipeline_db.task_logs.count_documents({"task": flood_task, "tail": {"$exists": True}})  # noqa: E731
    wait_until(lambda: last_filed() and tail() == TAIL_LINES, timeout=60)
    # The flooded task keeps its first lines and its latest ones, and counts those between.
    kept = pipeline_db.task_logs.count_documents({"task": flood_task})
    logs = pipeline.admin.get(f"/tasks/{flood_task}/logs?last=1000").body["items"]
    marker = [line for line in logs if line["message"].endswith("lines dropped (the task's log is full)")]
    assert len(marker) == 1 and kept + int(marker[0]["message"].split()[1]) == FLOOD, marker
    assert kept * LINE <= HEAD_BYTES + TAIL_LINES * LINE and kept >= TAIL_LINES
    assert logs[-1]["seq"] == max(line["seq"] for line in logs), "the latest line is kept"


def queued_reports(pipeline, username):
    with amqp.Connection(f"127.0.0.1:{pipeline.rabbitmq.port}", userid="cardshop-system",
                         password=open(pipeline.system_password_file).read().strip(),
                         virtual_host="cardshop", connect_timeout=10) as connection:
        return connection.channel().queue_declare(f"reports.{username}", passive=True).message_count


@pytest.fixture
def republishing_beat(pipeline):
    with beat_running_only(pipeline, "republish-pending", every=5, params={"older_than": 5}) as beat:
        yield beat


def test_a_creator_that_purges_the_create_queue_delays_its_tasks_by_less_than_a_minute(
        pipeline, hostile, republishing_beat):
    attacker = hostile("creator")
    honest, _, app = pipeline.worker("creator")
    orders = [pipeline.admin.post("/orders", order_body(**DOWNLOAD)).body for _ in range(3)]
    task_ids = [create_task_of(order)["_id"] for order in orders]
    time.sleep(6)  # their publications are confirmed and older than the beat's `older_than`
    attacker.channel().queue_purge("create")
    purged = time.monotonic()
    # The beat finds `create` short and publishes the lost tasks again; an honest creator then takes them.
    found = take_many(app, task_ids, timeout=60)
    print(f"purged tasks back in the queue after {time.monotonic() - purged:.1f} s")
    for task_id in task_ids:
        accepted(app, honest, found[task_id])


def take_many(app, task_ids, timeout):
    return {task_id: kwargs for task_id, (_, kwargs) in take_messages(app, "create", task_ids, timeout).items()}


def test_a_flood_of_claims_does_not_delay_another_accounts_claim(pipeline):
    flooder, _, flood_app = pipeline.worker("creator")
    client = ClaimClient(flood_app, flooder, "host")
    bogus = {"task": "0" * 24, "grant": "A" * 32}
    stop = threading.Event()

    def flood():
        while not stop.is_set():
            client.ask(client.request(bogus, uuid.uuid4().hex), timeout=0.01)

    threading.Thread(target=flood, daemon=True).start()
    try:
        held_task(pipeline)  # accepted (it asserts so) while the flood goes on
    finally:
        stop.set()
        client.close()
