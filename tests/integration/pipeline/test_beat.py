"""The beat: schedules in MongoDB, edited through the API, and the built-in jobs doing their work."""

import datetime
import os

import pytest

from cardshop.store import new_id, now
from tests.conftest import order_body
from devstack.processes import wait_until
from tests.integration.pipeline.test_monitor import create_task_of, order_in, take_message


@pytest.fixture(scope="module")
def beat(pipeline):
    # Run the jobs every second for the test, on tasks a minute old or silent for a minute.
    for name, change in (("republish-pending", {"every": 1, "params": {"older_than": 60}}),
                         ("time-out-tasks", {"every": 1, "params": {"timeout": 60, "max_attempts": 2}})):
        reply = pipeline.admin.patch(f"/schedules/{name}", change)
        if reply.status == 404:  # first start of this database: the beat installs its defaults
            break
    server = pipeline.start_beat()
    for name, change in (("republish-pending", {"every": 1, "params": {"older_than": 60}}),
                         ("time-out-tasks", {"every": 1, "params": {"timeout": 60, "max_attempts": 2}})):
        assert pipeline.admin.patch(f"/schedules/{name}", change).status == 200
    yield server
    server.stop()


def an_hour_ago():
    return now() - datetime.timedelta(hours=1)


def test_defaults_are_installed_and_editable_through_the_api(pipeline, beat):
    listed = pipeline.admin.get("/schedules").body["items"]
    assert {"republish-pending", "time-out-tasks", "purge-tokens", "expire-downloads"} <= {s["name"] for s in listed}
    bad = pipeline.admin.patch("/schedules/purge-tokens", {"params": {"bogus": 1}})
    assert bad.status == 400 and "params.bogus" in bad.body["error"]
    assert pipeline.admin.patch("/schedules/purge-tokens", {"crontab": "61 * * * *"}).status == 400
    assert pipeline.admin.post("/schedules", {"name": "twice", "job": "purge_tokens", "every": 5,
                                              "crontab": "* * * * *"}).status == 400
    wait_until(lambda: pipeline.admin.get("/schedules/republish-pending").body["total_run_count"] > 0, timeout=30)


def test_a_task_that_was_never_published_is_republished(pipeline, pipeline_db, beat):
    username, _, app = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body()).body
    task_id = create_task_of(order)["_id"]
    take_message(app, "create", task_id)  # the first message is lost...
    pipeline_db.tasks.update_one({"_id": task_id}, {"$set": {"published_at": None, "created_at": an_hour_ago()}})
    headers, _ = take_message(app, "create", task_id, timeout=30)  # ...and the beat sends it again
    assert headers["id"] == task_id


def test_a_silent_task_times_out_and_is_retried_then_the_order_fails(pipeline, pipeline_db, beat):
    order = pipeline.admin.post("/orders", order_body()).body
    first = create_task_of(order)["_id"]
    pipeline_db.tasks.update_one({"_id": first}, {"$set": {"status": "building", "last_report_at": an_hour_ago(),
                                                           "worker": "someone", "run": "c" * 32}})
    # Once published: the publisher's own update would otherwise race the test's (FerretDB updates are not atomic).
    retry = wait_until(lambda: pipeline_db.tasks.find_one({"retry_of": first, "published_at": {"$ne": None}}),
                       timeout=30)
    assert retry["attempt"] == 2 and retry["status"] == "pending"
    assert pipeline_db.tasks.find_one({"_id": first})["status"] == "timed_out"
    pipeline_db.tasks.update_one({"_id": retry["_id"]}, {"$set": {"status": "building",
                                                                  "last_report_at": an_hour_ago()}})
    failed = order_in(pipeline, order["_id"], ("creation_failed",), timeout=30)
    assert "timed out 2 times" in failed["statuses"][-1]["note"]


def test_expired_refresh_tokens_are_purged(pipeline, pipeline_db, beat):
    pipeline_db.refresh_tokens.insert_one({"_id": new_id(), "username": "x", "family": "f",
                                           "expires_at": an_hour_ago(), "used_at": None})
    assert pipeline.admin.patch("/schedules/purge-tokens", {"every": 1}).status == 200
    wait_until(lambda: pipeline_db.refresh_tokens.count_documents({"expires_at": {"$lt": now()}}) == 0, timeout=30)


def test_images_of_ended_orders_are_deleted_from_the_warehouse(pipeline, pipeline_db, beat):
    order = pipeline.admin.post("/orders", order_body()).body
    folder = os.path.join(pipeline.warehouse.root, create_task_of(order)["_id"])
    os.makedirs(folder)
    for name in ("x.img.zst", "x.bmap", "x.sha256", "x.img.zst.part"):
        with open(os.path.join(folder, name), "w") as handle:
            handle.write("data")
    live = pipeline.admin.post("/orders", order_body()).body
    live_folder = os.path.join(pipeline.warehouse.root, create_task_of(live)["_id"])
    os.makedirs(live_folder)
    pipeline.admin.post(f"/orders/{order['_id']}/cancel")
    assert pipeline.admin.patch("/schedules/clean-warehouse", {"every": 1}).status == 200
    wait_until(lambda: not os.path.exists(folder), timeout=30)
    wait_until(lambda: pipeline_db.orders.find_one({"_id": order["_id"]}).get("image_deleted_at"), timeout=10)
    assert os.path.exists(live_folder), "a live order's images stay"


def test_an_auto_image_is_rebuilt_and_its_stable_name_points_at_the_latest(pipeline, pipeline_db, beat):
    recipe = {"output": {"size": "64M"}, "files": [{"to": "/data/hello.txt", "content": "auto"}]}
    bad = pipeline.admin.post("/schedules", {"name": "bad-auto", "job": "auto_image", "every": 2,
                                             "params": {"name": "x", "recipe": {"output": {"size": "9T"}}}})
    assert bad.status == 400 and "params.recipe.output.size" in bad.body["error"]
    creator = pipeline.start_creator(name="auto-creator")
    try:
        assert pipeline.admin.post("/schedules", {"name": "wiki-auto", "job": "auto_image", "every": 3, "params": {
            "name": "wiki-en", "recipe": recipe, "card_size": 1}}).status == 201
        first = wait_until(lambda: pipeline.admin.get("/auto-images/wiki-en").body.get("order"), timeout=60)
        second = wait_until(lambda: (pipeline.admin.get("/auto-images/wiki-en").body.get("order") != first
                                     and pipeline.admin.get("/auto-images/wiki-en").body), timeout=60)
        assert pipeline.admin.patch("/schedules/wiki-auto", {"enabled": False}).status == 200
        assert second["image"]["files"]["image"].endswith("/wiki-en.img.zst")
        assert second["download_url"].startswith(pipeline.warehouse.url.rstrip("/"))
        assert pipeline.admin.get(f"/orders/{first}").body["status"] == "expired"
    finally:
        creator.stop()
