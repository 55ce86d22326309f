"""A whole pipeline stack (scheduler publishing tasks, RabbitMQ asking it, the monitor applying reports),
shared by the pipeline and security tests."""

import contextlib
import errno
import os
import subprocess
import time

import pytest

from devstack.pipeline import Pipeline
from devstack.processes import wait_until
from tests.conftest import TEST_AUTH


@pytest.fixture(scope="session")
def pipeline(tmp_path_factory, ferretdb):
    stack = Pipeline(str(tmp_path_factory.mktemp("pipeline")), ferretdb, auth=TEST_AUTH)
    try:
        stack.start()
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def pipeline_db(ferretdb):
    import pymongo
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    yield client["pipeline"]
    client.close()


def monitor_did(pipeline, predicate, what, timeout=150):
    """Until `predicate()` holds, else an AssertionError naming `what` with the monitor's last log lines.

    The pipeline's monitor is shared by the whole session: on a loaded machine it may still be working
    through an earlier test's flood of reports.
    """
    try:
        wait_until(predicate, timeout=timeout, interval=0.5)
    except AssertionError:
        raise AssertionError(f"the monitor has not {what} after {timeout} s; its log ends:\n"
                             f"{monitor_log_tail(pipeline)}") from None


def monitor_log_tail(pipeline, lines=20):
    """The shared monitor's last log lines, for a timeout's message."""
    with open(pipeline.monitor.process.log_path, errors="replace") as handle:
        return "".join(handle.readlines()[-lines:])


def dropped(pipeline_db, *reasons):
    """Messages the monitor dropped so far (for these reasons), from the counters it saves."""
    counts = (pipeline_db.monitor_stats.find_one({"_id": "dropped"}) or {}).get("counts", {})
    return sum(counts.get(reason, 0) for reason in reasons) if reasons else sum(counts.values())


@pytest.fixture
def small_disk(tmp_path):
    """`small_disk(size)`: the path of a tmpfs of that size ("32m"), a disk that really fills; unmounted after."""
    mounted = []

    def mount(size):
        folder = tmp_path / f"disk-{len(mounted)}"
        folder.mkdir()
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
                              capture_output=True)
        if done.returncode:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
        mounted.append(folder)
        return str(folder)
    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


def fill(disk, leave):
    """A ballast file taking all but (at most) `leave` bytes of `disk`; its path."""
    path = os.path.join(disk, "ballast")
    with open(path, "ab") as handle:
        while (size := _free(disk) - leave) > 0:
            try:
                os.posix_fallocate(handle.fileno(), os.fstat(handle.fileno()).st_size, size)
            except OSError as exc:  # an upload took some room meanwhile: measure again
                if exc.errno != errno.ENOSPC:
                    raise
    return path


def _free(path):
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


def register_slots(admin, username, host, numbers, devices=None):
    """Register slots `numbers` of writer `username`'s host `host` as an operator does, so that their heartbeats
    are filed; `devices` maps a number to its reader's device (a loop device standing in, by default)."""
    devices = devices or {}
    body = {"slots": [{"number": number, "reader": {"match": {"DEVNAME": devices.get(number, f"/dev/loop{number}")},
                                                    "device": devices.get(number, f"/dev/loop{number}")}}
                      for number in numbers]}
    reply = admin.request("PUT", f"/writer-hosts/{username}@{host}/slots", body)
    assert reply.status == 200, reply
    return reply.body


@contextlib.contextmanager
def beat_running_only(pipeline, schedule, **change):
    """The pipeline's beat with `schedule` changed by `change` (every, params) and its other schedules
    disabled (earlier tests' orders would otherwise be moved or timed out meanwhile); all put back after."""
    beat = pipeline.start_beat()  # it installs the schedules at its first start
    wait_until(lambda: pipeline.admin.get(f"/schedules/{schedule}").status == 200)
    before = pipeline.admin.get(f"/schedules/{schedule}").body
    others = [doc["name"] for doc in pipeline.admin.get("/schedules?per_page=100").body["items"]
              if doc["enabled"] and doc["name"] != schedule]
    try:
        for name in others:
            assert pipeline.admin.patch(f"/schedules/{name}", {"enabled": False}).status == 200
        reply = pipeline.admin.patch(f"/schedules/{schedule}", change)
        assert reply.status == 200, reply.body
        time.sleep(6)  # the beat reads its schedules every 5 s
        yield beat
    finally:
        beat.stop()
        pipeline.admin.patch(f"/schedules/{schedule}", {key: before[key] for key in change})
        for name in others:
            pipeline.admin.patch(f"/schedules/{name}", {"enabled": True})
