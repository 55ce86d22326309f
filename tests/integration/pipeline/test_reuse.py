"""Orders of an image made before (another order's, an auto-image's latest build): no create task, written
at once from the same warehouse files; and the beat keeps those files while such an order needs them."""

import os

from cardshop.pipeline.heartbeat import Heartbeat
from cardshop.pipeline.reports import Reporter
from cardshop.store import now, orders
from devstack.processes import wait_until
from tests.conftest import order_body
from tests.integration.claiming import accepted
from tests.integration.conftest import beat_running_only, register_slots
from tests.integration.pipeline.test_monitor import create_task_of, order_in, stored_result, take_message, \
    take_messages, write_cards

RECIPIENT = {"name": "Bea", "email": "Bea@Example.org", "address": "2 High St"}


def made_download(pipeline, **image):
    """A download order whose image a creator made and reported (`image`: other sizes): ready, its files in
    the warehouse."""
    creator, _, app = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body(sd_card={"size": 4, "type": "download"}, quantity=1)).body
    task_id = create_task_of(order)["_id"]
    _, kwargs = take_message(app, "create", task_id)
    Reporter(app, creator, task_id, run=accepted(app, creator, kwargs)).status(
        "done", result={**stored_result(pipeline, order, task_id), **image})
    return order_in(pipeline, order["_id"], ("ready",))


def of_image(**fields):
    return {"sd_card": {"size": 4, "type": "physical"}, "quantity": 2, "recipient": RECIPIENT, **fields}


def folder_of(pipeline, order):
    return os.path.join(pipeline.warehouse.root, order["image"]["folder"])


def test_a_physical_order_of_a_made_image_has_no_create_task_and_its_cards_are_written_at_once(pipeline):
    source = made_download(pipeline)
    writer, _, app = pipeline.worker("writer")
    register_slots(pipeline.admin, writer, "host", [1, 2])
    # A host that holds the image is chosen before any other: the placement knows the image by its name.
    Heartbeat(app, writer, "host", lambda: {"slots": 2, "active": 0, "images": [source["_id"]]}).send()
    wait_until(lambda: pipeline.admin.get(f"/workers/{writer}@host").status == 200)

    reply = pipeline.admin.post("/orders", of_image(image_of=source["_id"]))
    assert reply.status == 201, reply.body
    order = reply.body
    assert order["status"] == "pending_writer" and order["image"] == source["image"]
    assert order["warehouse"] == source["warehouse"] and order["recipe"] == source["recipe"]
    assert order["image_source"] == {"order": source["_id"], "name": source["_id"]}
    assert order["recipient"]["email"] == "bea@example.org"
    assert [task["kind"] for task in order["tasks"]] == ["write", "write"], "no create task"
    assert all(task["published_at"] and task["writer"] == writer for task in order["tasks"])
    assert [entry["status"] for entry in order["statuses"]] == ["created", "pending_writer"]
    assert order["statuses"][-1]["note"] == f"image of order {source['_id']}"

    messages = take_messages(app, f"write.{writer}", [task["_id"] for task in order["tasks"]])
    assert all(kwargs["image"] == source["image"] for _, kwargs in messages.values())
    Heartbeat(app, writer, "host.slot-1", lambda: {"slots": 1, "slot": {"number": 1, "state": "busy"}}).send()
    wait_until(lambda: pipeline.admin.get(f"/workers/{writer}@host").body.get("slot_states"))
    # The writer names the image by its files (the source's), and the monitor expects just that.
    write_cards(pipeline, app, writer, order["tasks"], messages, source["image"], source["_id"], serials="0xre")
    done = order_in(pipeline, order["_id"], ("pending_shipment",))
    assert len(done["cards"]) == 2
    assert [entry["status"] for entry in done["statuses"]] == ["created", "pending_writer", "writing",
                                                               "pending_shipment"]


def test_a_download_order_of_an_auto_images_latest_build_is_ready_at_once(pipeline, pipeline_db):
    source = made_download(pipeline)
    name = f"wiki-{source['_id'][-6:]}"
    # As the monitor points a stable name at a build once it is ready.
    pipeline_db.auto_images.insert_one({"_id": name, "order": source["_id"], "image": source["image"],
                                        "warehouse": source["warehouse"], "updated_at": now()})
    reply = pipeline.admin.post("/orders", of_image(auto_image=name, sd_card={"size": 4, "type": "download"},
                                                    quantity=1))
    assert reply.status == 201, reply.body
    order = reply.body
    assert order["status"] == "ready" and order["image"] == source["image"] and order["tasks"] == []
    assert order["image_source"] == {"order": source["_id"], "name": source["_id"], "auto_image": name}
    assert "auto_image" not in order, "it is no build of the auto-image: the stable name stays where it is"
    assert order["statuses"][-1]["note"] == f"image of order {source['_id']} (auto-image {name}, its latest build)"
    assert pipeline.admin.get(f"/auto-images/{name}").body["order"] == source["_id"]


def test_an_order_of_an_image_is_refused_with_the_field_or_the_reason_named(pipeline, pipeline_db):
    source = made_download(pipeline, image_size=5 * 10 ** 9)  # a card of 4 GB cannot hold it
    post = lambda **fields: pipeline.admin.post("/orders", of_image(**fields))  # noqa: E731
    both = post(image_of=source["_id"], recipe=order_body()["recipe"])
    assert both.status == 400 and "'recipe', 'image_of', 'auto_image'" in both.body["error"], both.body
    assert "not 'recipe' and 'image_of'" in both.body["error"]
    neither = post()
    assert neither.status == 400 and "exactly one of" in neither.body["error"]
    unknown = post(image_of="0" * 24)
    assert unknown.status == 404 and f"field 'image_of': no order {'0' * 24}" in unknown.body["error"]
    never = post(auto_image="never-built")
    assert never.status == 404 and "no auto-image 'never-built'" in never.body["error"]
    unmade = pipeline.admin.post("/orders", order_body()).body
    not_yet = post(image_of=unmade["_id"])
    assert not_yet.status == 409 and f"order {unmade['_id']} has no image yet: it is created" in not_yet.body["error"]
    small = post(image_of=source["_id"])
    assert small.status == 400 and "field 'sd_card.size': the image is 5000000000 bytes" in small.body["error"]
    assert post(image_of=source["_id"], sd_card={"size": 8, "type": "physical"}).status == 201
    elsewhere = post(image_of=source["_id"], warehouse="other", sd_card={"size": 8, "type": "physical"})
    assert elsewhere.status == 400 and "field 'warehouse': the image is in warehouse 'main'" in elsewhere.body["error"]
    two = post(image_of=source["_id"], sd_card={"size": 8, "type": "download"}, quantity=2)
    assert two.status == 400 and "field 'quantity'" in two.body["error"]
    cleaned = made_download(pipeline)
    # As the beat leaves an order it cleaned up before orders could share images: no mark on the folder.
    pipeline_db.orders.update_one({"_id": cleaned["_id"]}, {"$set": {"image_deleted_at": now()}})
    gone = post(image_of=cleaned["_id"])
    assert gone.status == 409 and f"the image of order {cleaned['_id']} is deleted" in gone.body["error"], gone.body


def test_the_warehouse_keeps_an_image_an_order_uses_and_deletes_it_after_the_last_one(pipeline, pipeline_db):
    source = made_download(pipeline)
    unused = made_download(pipeline)
    user = pipeline.admin.post("/orders", of_image(image_of=source["_id"], sd_card={"size": 4, "type": "download"},
                                                   quantity=1)).body
    assert user["status"] == "ready"
    for order in (source, unused):
        assert pipeline.admin.post(f"/orders/{order['_id']}/cancel").status == 200
    with beat_running_only(pipeline, "clean-warehouse", every=1):
        wait_until(lambda: not os.path.exists(folder_of(pipeline, unused)), timeout=30)
        kept = wait_until(lambda: (lambda doc: doc.get("image_deleted_at") and doc)(
            pipeline_db.orders.find_one({"_id": source["_id"]})), timeout=30)
        assert kept["image_kept_for"] == user["_id"]
        assert os.path.exists(folder_of(pipeline, source)), "an order not ended still uses the image"
        again = pipeline.admin.post("/orders", of_image(image_of=source["_id"]))
        assert again.status == 201, again.body  # the files are still there: ordered again
        for order in (user, again.body):
            assert pipeline.admin.post(f"/orders/{order['_id']}/cancel").status == 200
        wait_until(lambda: not os.path.exists(folder_of(pipeline, source)), timeout=30)
    gone = pipeline.admin.post("/orders", of_image(image_of=source["_id"]))
    assert gone.status == 409 and "is deleted from warehouse 'main'" in gone.body["error"], gone.body


def test_an_order_of_an_image_left_created_by_a_stopped_placing_is_moved_on_by_reconcile(pipeline, pipeline_db):
    source = made_download(pipeline)
    # What a scheduler that stopped between recording the order and moving it on leaves behind.
    left = orders.record_order_of_image(pipeline_db, {
        **of_image(sd_card={"size": 4, "type": "download"}, quantity=1), "recipe": source["recipe"],
        "warehouse": source["warehouse"], "image": source["image"],
        "image_source": {"order": source["_id"], "name": source["_id"]}}, "manager1", now())
    with beat_running_only(pipeline, "reconcile", every=1, params={"older_than": 0, "max_attempts": 3}):
        ready = order_in(pipeline, left["_id"], ("ready",), timeout=30)
    assert ready["tasks"] == [], "nothing is built again"
    assert ready["statuses"][-1]["by"] == "beat" and ready["statuses"][-1]["note"] == f"image of order {source['_id']}"
