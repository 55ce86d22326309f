"""A creator's `done` counts only when the warehouse really holds what it names."""

import pytest

from tests.conftest import order_body
from tests.integration.claiming import accepted
from tests.integration.pipeline.test_monitor import create_task_of, order_in, stored_result, take_message

NOW = "2026-01-01T00:00:00Z"


def forgeries(pipeline, order, task_id):
    other = pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "download"}, quantity=1)).body
    elsewhere = stored_result(pipeline, other, create_task_of(other)["_id"])  # real files, another task's
    real = stored_result(pipeline, order, task_id)
    return {
        "not an image at all": {"image": "x.img.zst"},
        "files that are not there": {**real, "files": {key: f"/{task_id}/missing.{key}" for key in real["files"]}},
        "another task's files": elsewhere,
        "the wrong size": {**real, "compressed_size": real["compressed_size"] + 1},
        "the wrong checksum": {**real, "sha256": "f" * 64},
        "another warehouse": {**real, "warehouse": "other"},
    }


@pytest.mark.parametrize("forgery", ["not an image at all", "files that are not there", "another task's files",
                                     "the wrong size", "the wrong checksum", "another warehouse"])
def test_a_creator_taking_over_a_task_cannot_make_it_ready_with_a_forged_result(pipeline, hostile, forgery):
    creator = hostile("creator")
    order = pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "download"}, quantity=1)).body
    task_id = create_task_of(order)["_id"]
    payload = take_message(creator.app, "create", task_id)[1]
    run = accepted(creator.app, creator.username, payload, instance="1" * 32)
    for seq, status in enumerate(("downloading", "building", "uploading"), 1):
        creator.publish({"task": task_id, "run": run, "seq": seq, "type": "status", "status": status, "at": NOW})
    # Its process restarts and takes the task over (that is how a redelivered task resumes); believing the
    # new run's result is not.
    forged = forgeries(pipeline, order, task_id)[forgery]
    takeover = accepted(creator.app, creator.username, payload, instance="2" * 32)
    creator.publish({"task": task_id, "run": takeover, "seq": 1, "type": "status", "status": "done", "at": NOW,
                     "result": forged})
    ended = order_in(pipeline, order["_id"], ("ready", "creation_failed"))
    assert ended["status"] == "creation_failed"
    task = create_task_of(ended)
    assert task["status"] == "failed" and task["reason"].startswith("result refused: "), task.get("reason")
    assert "image" not in ended or not ended["image"]


def test_auto_images_answer_whatever_is_stored(pipeline, pipeline_db):
    damaged = [{"_id": "dmg-none", "warehouse": "main"}, {"_id": "dmg-str", "image": "x", "warehouse": "main"},
               {"_id": "dmg-list", "image": {"files": ["x"]}, "warehouse": "main", "updated_at": "yesterday"},
               {"_id": "dmg-int", "image": {"files": {"image": 12}}, "warehouse": "main", "order": 7},
               {"_id": "dmg-nowh", "image": {"files": {"image": "/a/b.img.zst"}}, "warehouse": 5}]
    for entry in damaged:
        pipeline_db.auto_images.replace_one({"_id": entry["_id"]}, entry, upsert=True)
    listed = pipeline.admin.get("/auto-images?per_page=200")
    assert listed.status == 200, listed
    assert {entry["_id"] for entry in damaged} <= {item["_id"] for item in listed.body["items"]}
    for entry in damaged:
        reply = pipeline.admin.get(f"/auto-images/{entry['_id']}")
        assert reply.status == 200 and reply.body["download_url"] is None, (entry, reply)
