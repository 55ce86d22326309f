"""Task logs: operators read the lines the monitor filed for a task, oldest first, the latest `last` of them."""

import datetime

from cardshop.client import ApiClient
from tests.conftest import order_body


def file_lines(db, task_id, count):
    """As the monitor files a worker's log reports."""
    start = datetime.datetime.now(datetime.timezone.utc)
    for seq in range(1, count + 1):
        db.task_logs.insert_one({"_id": f"{task_id}:{'a' * 32}:{seq}", "task": task_id, "run": "a" * 32, "seq": seq,
                                 "level": "warning" if seq == count else "info", "message": f"line {seq}",
                                 "at": start + datetime.timedelta(milliseconds=seq)})


def test_operators_read_a_tasks_latest_lines_oldest_first(admin, warehouse, db):
    task_id = admin.post("/orders", order_body()).body["tasks"][0]["_id"]
    file_lines(db, task_id, 5)
    lines = admin.get(f"/tasks/{task_id}/logs").body["items"]
    assert [line["message"] for line in lines] == [f"line {seq}" for seq in range(1, 6)]
    assert lines[-1]["level"] == "warning"
    assert [line["message"] for line in admin.get(f"/tasks/{task_id}/logs?last=2").body["items"]] == \
        ["line 4", "line 5"]


def test_unknown_tasks_and_workers_are_refused(admin, make_user, scheduler, warehouse):
    assert admin.get(f"/tasks/{'0' * 24}/logs").status == 404
    assert admin.get("/tasks/nope/logs").status == 404
    task_id = admin.post("/orders", order_body()).body["tasks"][0]["_id"]
    assert admin.get(f"/tasks/{task_id}/logs?last=0").status == 400
    assert ApiClient(scheduler.url, make_user("writer").access).get(f"/tasks/{task_id}/logs").status == 403
