"""The beat on a wrong clock (libfaketime): it times by the database server's clock, and when its own is
too far off it says so loudly and times nothing out; a restarted beat runs its jobs at once."""

import datetime
import os
import re
import subprocess
import sys

import pytest

from cardshop.beat.schedule import install_defaults
from cardshop.store import now, tasks, workers
from devstack.processes import wait_until
from devstack.servers import REPO, Beat
from tests.faketime import faked
from tests.integration.faults.test_reconcile import logged, plant
from tests.integration.scheduler.test_daemon import NotifySocket

# The schedules these tests speed up, and what they get back afterwards (the defaults).
FAST = {"time-out-tasks": {"every": 2, "params": {"timeout": 900, "max_attempts": 3}},
        "move-offline-writers": {"every": 2, "params": {"offline_after": 600}}}
DEFAULTS = {"time-out-tasks": {"every": 60, "params": {"timeout": 900, "max_attempts": 3}},
            "move-offline-writers": {"every": 60, "params": {"offline_after": 600}},
            "purge-tokens": {"crontab": "17 3 * * *"}}


def ago(seconds):
    return now() - datetime.timedelta(seconds=seconds)


def log_of(beat):
    with open(beat.process.log_path, errors="replace") as handle:
        return handle.read()


def runs_logged(beat, job):
    """How many runs of `job` the beat logged (done or skipped)."""
    return log_of(beat).count(f" {job}: {{")


def schedule(pipeline, name, change):
    reply = pipeline.admin.patch(f"/schedules/{name}", change)
    assert reply.status == 200, reply.body


def start_beat(pipeline, base, offset=None, notify=None):
    """A beat on the pipeline's database, logging under `base`, its clock `offset` off."""
    beat = Beat(str(base), pipeline.ferretdb.url, pipeline.db_name, pipeline.rabbitmq.url,
                pipeline.system_password_file, pipeline.scheduler.url)
    env = faked(offset) if offset else dict(os.environ)
    if notify is not None:
        env["NOTIFY_SOCKET"] = notify.path
    beat.start(env=env)
    return beat


def live_create_task(pipeline_db, reported_ago):
    """A create task being built, its last report `reported_ago` seconds old; (its order's id, its id)."""
    order, task = plant(pipeline_db, "download", "creating")
    pipeline_db.tasks.update_one({"_id": task["_id"]}, {"$set": {
        "status": "building", "worker": "creator@elsewhere", "run": "c" * 32, "last_report_at": ago(reported_ago)}})
    return order["_id"], task["_id"]


def queued_write_on_a_live_host(pipeline_db):
    """A write task waiting in the queue of writer host W, whose slot was seen 30 s ago; (order id, task id, W)."""
    writer = f"clock{os.getpid() % 1000}x{now().microsecond}"
    workers.file_heartbeat(pipeline_db, f"{writer}@desk.slot-1", {
        "username": writer, "host": "desk", "role": "writer", "online": True, "last_seen": ago(30), "live_until": ago(-60), "slots": 1,
        "slot": {"number": 1, "state": "ready", "message": None, "card": {"size": 4 * 10 ** 9, "serial": None},
                 "task": None, "order": None, "step": None, "percent": None, "rate": None}}, ago(30))
    order, created = plant(pipeline_db, "physical", "pending_writer")
    pipeline_db.tasks.update_one({"_id": created["_id"]}, {"$set": {"status": "done"}})
    task = tasks.new_task(order["_id"], "write", "test", ago(60), writer=writer, published_at=ago(60))
    tasks.insert(pipeline_db, task)
    return order["_id"], task["_id"], writer


def cancel(pipeline, *orders):
    """Planted orders end, so that no later test's creator or writer gets their tasks."""
    for order in orders:
        pipeline.admin.post(f"/orders/{order}/cancel")


@pytest.fixture(scope="module")
def fast_schedules(pipeline, pipeline_db):
    install_defaults(pipeline_db)  # as the beat does at its first start
    for name, change in FAST.items():
        schedule(pipeline, name, change)
    yield
    for name, change in DEFAULTS.items():
        schedule(pipeline, name, change)


def test_the_clock_is_measured_against_the_database_servers_and_followed(ferretdb):
    script = ("import datetime, sys, pymongo\n"
              "from cardshop.store import clock\n"
              "db = pymongo.MongoClient(sys.argv[1])['clock']\n"
              "reading = clock.measure(db)\n"
              "clock.follow(reading)\n"
              "server = db.command('hello')['localTime'].replace(tzinfo=datetime.timezone.utc)\n"
              "print(reading.skew, reading.round_trip, (clock.now() - server).total_seconds())\n")
    out = subprocess.run([sys.executable, "-c", script, ferretdb.url], env=faked("-90"), cwd=REPO,
                         capture_output=True, text=True, check=True).stdout
    skew, round_trip, after = map(float, out.split())
    assert abs(skew + 90) <= round_trip / 2 + 0.1, "90 s behind, to within the round trip"
    assert abs(after) < 0.1, "now() answers the server's time once followed"


def test_a_beat_25_s_ahead_times_a_task_out_by_the_database_servers_clock(pipeline, pipeline_db, fast_schedules,
                                                                       tmp_path):
    schedule(pipeline, "time-out-tasks", {"every": 1, "params": {"timeout": 60, "max_attempts": 3}})
    order, task_id = live_create_task(pipeline_db, reported_ago=45)
    reported = pipeline_db.tasks.find_one({"_id": task_id})["last_report_at"]
    beat = start_beat(pipeline, tmp_path, offset="+25")
    try:
        wait_until(lambda: runs_logged(beat, "time_out_tasks") >= 3, timeout=30)
        assert pipeline_db.tasks.find_one({"_id": task_id})["status"] == "building", \
            "45 s without a report is not 60 s, whatever the beat's clock says"
        timed_out = wait_until(lambda: (lambda task: task["status"] == "timed_out" and task)(
            pipeline_db.tasks.find_one({"_id": task_id})), timeout=40)
        silent = (timed_out["statuses"][-1]["at"] - reported).total_seconds()
        assert 60 <= silent <= 63, f"timed out after {silent} s of silence by the database server's clock"
        health = pipeline.admin.get("/health").body
        assert health["status"] == "ok" and health["beat_clock"]["ok"], health
        assert 24 <= health["beat_clock"]["skew_seconds"] <= 26
        assert not logged(beat, "skew")
    finally:
        beat.stop()
        schedule(pipeline, "time-out-tasks", FAST["time-out-tasks"])
        cancel(pipeline, order)


@pytest.fixture(scope="module")
def beat_20_minutes_ahead(pipeline, pipeline_db, fast_schedules, tmp_path_factory):
    """A beat whose clock is 20 minutes ahead, once its time-based jobs came round twice; then what it saw."""
    building, live = live_create_task(pipeline_db, reported_ago=30)
    waiting, queued, writer = queued_write_on_a_live_host(pipeline_db)
    base = tmp_path_factory.mktemp("ahead")
    notify = NotifySocket(str(base))
    beat = start_beat(pipeline, base, offset="+20m", notify=notify)
    try:
        counts = {name: pipeline_db.schedules.find_one({"name": name})["total_run_count"] for name in FAST}
        wait_until(lambda: runs_logged(beat, "time_out_tasks") >= 2 and runs_logged(beat, "move_offline_writers") >= 2,
                   timeout=30)
        # Written back (every 5 s) at least once since.
        wait_until(lambda: all(pipeline_db.schedules.find_one({"name": name})["total_run_count"] > counts[name]
                               for name in FAST), timeout=15)
        yield {"beat": beat, "notify": notify, "live": live, "queued": queued, "writer": writer}
    finally:
        beat.stop()
        notify.close()
        pipeline_db.workers.update_many({"username": writer}, {"$set": {"online": False}})
        cancel(pipeline, building, waiting)


def test_a_beat_20_minutes_ahead_times_out_no_live_task_and_calls_no_live_writer_host_offline(
        pipeline_db, beat_20_minutes_ahead):
    seen = beat_20_minutes_ahead
    assert pipeline_db.tasks.find_one({"_id": seen["live"]})["status"] == "building"
    queued = pipeline_db.tasks.find_one({"_id": seen["queued"]})
    assert queued["status"] == "pending" and queued["writer"] == seen["writer"]
    assert pipeline_db.tasks.count_documents({"retry_of": {"$in": [seen["live"], seen["queued"]]}}) == 0
    assert not logged(seen["beat"], f"writer host {seen['writer']} is offline")
    assert logged(seen["beat"], "{'skipped': 'clock skew 1200 s > 30 s'}")


def test_a_beat_20_minutes_ahead_says_so_in_its_log_status_line_and_health(pipeline, beat_20_minutes_ahead):
    seen = beat_20_minutes_ahead
    assert re.search(r"ERROR cardshop\.beat\.clock: this host's clock is 1200 s ahead of the database server's",
                     log_of(seen["beat"]))
    assert seen["notify"].wait_for("CLOCK 1200 s ahead of the database server's (bound 30 s)", 5), \
        seen["notify"].messages
    health = pipeline.admin.get("/health")
    assert health.status == 200 and health.body["status"] == "degraded", health.body
    assert not health.body["beat_clock"]["ok"] and 1195 <= health.body["beat_clock"]["skew_seconds"] <= 1205
    assert "1200 s ahead of the database server's" in health.body["warnings"][0]


def test_a_beat_20_minutes_ahead_writes_no_last_run_in_the_future(pipeline_db, beat_20_minutes_ahead):
    later = now() + datetime.timedelta(seconds=2)
    ahead = {doc["name"]: doc["last_run_at"] for doc in pipeline_db.schedules.find({"last_run_at": {"$gt": later}})}
    assert ahead == {}
    record = pipeline_db.schedules.find_one({"name": "time-out-tasks"})
    assert record["last_result"] == {"skipped": "clock skew 1200 s > 30 s"} and record["last_duration"] < 5


def test_a_beat_restarted_on_the_right_clock_runs_its_jobs_at_once(pipeline, pipeline_db, beat_20_minutes_ahead,
                                                                 tmp_path):
    beat_20_minutes_ahead["beat"].stop()
    # What today's beat wrote from a clock 20 minutes ahead.
    schedule(pipeline, "purge-tokens", {"every": 5})
    future = now() + datetime.timedelta(minutes=20)
    pipeline_db.schedules.update_one({"name": "purge-tokens"}, {"$set": {"last_run_at": future}})
    beat = start_beat(pipeline, tmp_path)
    try:
        wait_until(lambda: all(runs_logged(beat, job) >= 1
                               for job in ("time_out_tasks", "move_offline_writers", "purge_tokens")), timeout=20)
        assert re.search(r"schedule purge-tokens: its last run is recorded 1[12][0-9][0-9] s in the future", log_of(beat))
        health = pipeline.admin.get("/health").body
        assert health["status"] == "ok" and health["beat_clock"]["ok"] and health["warnings"] == []
        assert pipeline_db.tasks.find_one({"_id": beat_20_minutes_ahead["live"]})["status"] == "building"
    finally:
        beat.stop()
