"""The `orders` collection and the tasks that belong to an order. Statuses change only through
store/transitions.py; a new order is recorded here with its create task (`record_order`)."""

import logging

import pymongo

from cardshop.states import ORDER
from cardshop.store import counters, search, tasks
from cardshop.store.db import new_id, now

log = logging.getLogger(__name__)

# Its record in `migrations` once every order has its search fields as search.fields makes them now; a
# new name for each change of the terms (v2: the short id) walks the orders once more.
SEARCH_BACKFILL = "orders/search_keys-v2"
from cardshop.store.transitions import initial_history


# What image_name reads: a projection of an order must hold these.
IMAGE_NAME_FIELDS = {"auto_image": 1, "image_source": 1}


def image_name(order):
    """The name the order's image files carry (`<name>.img.zst`, `.bmap`, `.sha256`), and writer hosts cache
    it under: for an order of an image made before, that image's name (its files keep it); else the shared
    automatic image's name, else the order's id."""
    source = order.get("image_source")
    if isinstance(source, dict) and isinstance(source.get("name"), str):
        return source["name"]
    return order.get("auto_image") or order["_id"]


def find(db, order_id, projection=None):
    return db.orders.find_one({"_id": order_id}, projection)


def tasks_of(db, order_id, projection=None):
    """The order's tasks, oldest first."""
    return list(db.tasks.find(tasks_of_filter(order_id), projection).sort(TASKS_OLDEST_FIRST))


def tasks_of_filter(order_id):
    return {"order": order_id}


TASKS_OLDEST_FIRST = [("created_at", 1), ("_id", 1)]


def new_order(fields, actor, moment):
    """A new order (`fields`: recipe, sd_card, quantity, recipient, warehouse, ...) and its create task,
    as record_order writes them; nothing is written."""
    order = {"_id": new_id(), **fields, "status": ORDER.initial, "rev": 0, "statuses": initial_history(ORDER, actor, moment),
             "created_by": actor, "created_at": moment, "updated_at": moment}
    order.update(search.fields(order))
    return order, tasks.new_task(order["_id"], "create", actor, moment)


def record_order(db, fields, actor, moment):
    """Insert a new order (`new_order`) with its create task.

    Returns (order, task). There is never an order without its create task: if
    the task cannot be written, the order is removed again.
    """
    order, task = new_order(fields, actor, moment)
    db.orders.insert_one(order)
    try:
        tasks.insert(db, task)
    except Exception:
        db.orders.delete_one({"_id": order["_id"]})
        raise
    counters.add(db, "orders", order["status"], 1)
    return order, task


def record_order_of_image(db, fields, actor, moment):
    """Insert a new order of an image made before (`fields` hold its `image` and `image_source`): no create
    task; the domain moves it on (domain/reuse.py). The order, as written."""
    order, _ = new_order(fields, actor, moment)
    db.orders.insert_one(order)
    counters.add(db, "orders", order["status"], 1)
    return order


def count_by_status(db):
    """{status: how many orders are in it} for every order status, from the counters (store/counters.py)."""
    return counters.totals(db, "orders", sorted(ORDER.statuses))


def recount(db, settle=1.0):
    """Correct the status counters from a count of the orders in each status (counters.recount)."""
    return counters.recount(db, "orders", sorted(ORDER.statuses), settle)


def searchable(order, **changes):
    """The search fields of `order` once `changes` are made to it (to set with them: a tracking number
    is searched)."""
    return search.fields({**order, **changes})


def backfill_search(db, batch=500):
    """Give the search fields to the orders that lack them or hold older ones (placed before the fields
    existed, or before the terms last changed); how many.

    Walks the orders once by id, `batch` at a time, and writes only where the stored keys are still
    those it read (a concurrent change, such as a shipment, wrote its own), so it is safe to run twice
    or concurrently; once a walk is complete, `migrations` records it and later calls return at once.
    """
    if db.migrations.find_one({"_id": SEARCH_BACKFILL}) is not None:
        return 0
    filled, after = 0, None
    while True:
        window = {} if after is None else {"_id": {"$gt": after}}
        page = list(db.orders.find(window, {"recipient": 1, "created_by": 1, "shipment": 1, "search_keys": 1})
                    .sort("_id", 1).limit(batch))
        missing = []
        for order in page:
            wanted = search.fields(order)
            if order.get("search_keys") != wanted["search_keys"]:
                read = order.get("search_keys", {"$exists": False})
                missing.append(pymongo.UpdateOne({"_id": order["_id"], "search_keys": read}, {"$set": wanted}))
        if missing:
            filled += db.orders.bulk_write(missing, ordered=False).modified_count
        if len(page) < batch:
            break
        after = page[-1]["_id"]
    db.migrations.update_one({"_id": SEARCH_BACKFILL}, {"$set": {"done_at": now(), "filled": filled}}, upsert=True)
    if filled:
        log.info("gave the current search fields to %d order(s) placed before them", filled)
    return filled


def live_in_warehouse(db, name, ended):
    """How many orders not in an `ended` status keep their images in warehouse `name`."""
    return db.orders.count_documents({"warehouse": name, "status": {"$nin": sorted(ended)}})


def in_status_since(db, statuses, moment, projection=None, after=None):
    """The orders in one of `statuses` unchanged since before `moment` (and, unless None, since `after`)."""
    return db.orders.find(in_status_since_filter(statuses, moment, after), projection)


def in_status_since_filter(statuses, moment, after=None):
    return {"status": {"$in": sorted(statuses)}, "updated_at": {"$lt": moment, **({"$gte": after} if after else {})}}


def uncompacted(db, statuses, before, limit):
    """Up to `limit` orders in `statuses` (ended for good), unchanged since before `before`, whose histories
    are whole; the index on (compacted_at, status) leaves out those compacted already."""
    return db.orders.find(uncompacted_filter(statuses, before), {"statuses": 1}).limit(limit)


def uncompacted_filter(statuses, before):
    return {"compacted_at": None, "status": {"$in": sorted(statuses)}, "updated_at": {"$lt": before}}


def with_images_in(db, statuses, limit):
    """Up to `limit` orders in `statuses` whose images are not deleted yet (those cleaned up are left
    out by the index, so the cost follows what is left to clean, not the ended history)."""
    return db.orders.find(with_images_filter(statuses), {"warehouse": 1, "image.folder": 1}).limit(limit)


def with_images_filter(statuses):
    return {"image_deleted_at": None, "status": {"$in": sorted(statuses)}}


def using_folder(db, folder, statuses, projection=None, limit=20):
    """Up to `limit` orders in `statuses` whose image lives in warehouse folder `folder` (its maker, and the
    orders placed of that image since); found through the (image.folder, status) index."""
    return list(db.orders.find(using_folder_filter(folder, statuses), projection or {"_id": 1}).limit(limit))


def using_folder_filter(folder, statuses):
    return {"image.folder": folder, "status": {"$in": sorted(statuses)}}


def folder_deleting(db, folder):
    """An order whose image lives in `folder` and whose files the beat deletes (or deleted), or None: then
    the folder is gone, or going, and no new order may use it."""
    return db.orders.find_one(folder_deleting_filter(folder), {"_id": 1, "image_deleting_at": 1})


def folder_deleting_filter(folder):
    return {"image.folder": folder, "image_deleting_at": {"$ne": None}}


def mark_image_deleting(db, order_id, moment):
    """Say, before looking for the image's users, that its files are about to go: an order of that image
    placed from now on sees it (folder_deleting) and is refused, one placed before is found as a user."""
    db.orders.update_one({"_id": order_id}, {"$set": {"image_deleting_at": moment}})


def unmark_image_deleting(db, order_id, kept_for):
    """Its image stays, for order `kept_for` (and any other using it): new orders of it are welcome again."""
    db.orders.update_one({"_id": order_id}, {"$set": {"image_deleting_at": None, "image_kept_for": kept_for}})


def mark_image_deleted(db, order_id, moment):
    db.orders.update_one({"_id": order_id}, {"$set": {"image_deleted_at": moment}})


def add_card(db, order_id, card):
    """List `card` (written by task `card["task"]`) on the order, unless it is listed already; the cards
    counter (`cards:written`, for the metrics) moves once per card listed."""
    listed = db.orders.update_one({"_id": order_id, "cards.task": {"$ne": card["task"]}}, {"$push": {"cards": card}})
    if listed.modified_count:
        counters.add(db, "cards", "written", 1)


def delete_ended(db, order_id, status):
    """Delete the order (still in `status`, an ended one) and its tasks."""
    db.tasks.delete_many({"order": order_id})
    if db.orders.delete_one({"_id": order_id, "status": status}).deleted_count:
        counters.add(db, "orders", status, -1)
