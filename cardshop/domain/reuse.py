"""Orders of an image that is already made: another order's, or an auto-image's latest build.

The new order gets a copy of the source's image description (warehouse, folder, files, checksum, sizes:
what the monitor checked when the creator reported it) and no create task. A physical order goes to
pending_writer with its write tasks published, as after a creation; a download order is ready at once.
Its history says where the image came from, and `image_source` names it: the writers write the source's
files, under the source's image name (orders.image_name).

The image's warehouse folder stays while an order not ended for good uses it: the beat's clean_warehouse
marks an ended order's image as going (`image_deleting_at`) before it looks for the folder's users, and
an order placed here looks for that mark after it is recorded; so either the beat finds the new order,
or the new order finds the mark and is canceled again.
"""

import logging

from cardshop.domain.cascades import Cascades
from cardshop.states import ORDER, IllegalTransition
from cardshop.store import auto_images, now, orders, warehouses
from cardshop.store.transitions import transition

log = logging.getLogger(__name__)

IMAGE_KEYS = ("warehouse", "folder", "files", "sha256", "image_size")  # a made image has them all


class ReuseError(Exception):
    """The request names an image that cannot be ordered: a field is wrong (the message names it)."""


class UnknownSource(ReuseError):
    """The order or auto-image named does not exist."""


class ImageUnavailable(ReuseError):
    """The image named is not made yet, or its files are gone (or going)."""


def source_order(db, image_of=None, auto_image=None):
    """The order whose image is to be ordered again, by its id or by an auto-image's stable name; its
    image must be made and its files still in the warehouse. UnknownSource or ImageUnavailable."""
    if auto_image is not None:
        entry = auto_images.find(db, auto_image)
        if entry is None:
            raise UnknownSource(f"field 'auto_image': no auto-image {auto_image!r} has been built yet")
        source = orders.find(db, entry.get("order"))
        if source is None:
            raise ImageUnavailable(f"auto-image {auto_image!r}: its latest build, order {entry.get('order')}, "
                                   f"was deleted")
    else:
        source = orders.find(db, image_of)
        if source is None:
            raise UnknownSource(f"field 'image_of': no order {image_of}")
    image = source.get("image")
    if not isinstance(image, dict) or not all(image.get(key) for key in IMAGE_KEYS):
        raise ImageUnavailable(f"order {source['_id']} has no image yet: it is {source['status']}")
    if source.get("image_deleted_at") and not source.get("image_kept_for"):  # cleaned, with no user to keep it
        raise ImageUnavailable(f"the image of order {source['_id']} is deleted from warehouse {image['warehouse']!r} "
                               f"(at {source['image_deleted_at']:%Y-%m-%d %H:%M %Z})")
    deleting = orders.folder_deleting(db, image["folder"])
    if deleting is not None:
        raise ImageUnavailable(f"the image of order {source['_id']} is deleted from warehouse "
                               f"{image['warehouse']!r} (order {deleting['_id']} ended)")
    return source


def place_of_image(db, publisher, body, actor, source, auto_image=None):
    """Record an order of `source`'s image (`body`: sd_card, quantity, recipient, warehouse; the API's
    order body without recipe, image_of, auto_image) and move it on: write tasks published (physical) or
    ready (download). The order as it stands; ReuseError when `body` does not fit the image."""
    image = source["image"]
    if body.get("warehouse") not in (None, image["warehouse"]):
        raise ReuseError(f"field 'warehouse': the image is in warehouse {image['warehouse']!r}, "
                         f"not {body['warehouse']!r}")
    if warehouses.find(db, image["warehouse"], {"name": 1}) is None:
        raise ImageUnavailable(f"the image of order {source['_id']} is in warehouse {image['warehouse']!r}, "
                               f"which is no longer configured")
    card_bytes = body["sd_card"]["size"] * 10 ** 9
    if int(image["image_size"]) > card_bytes:
        raise ReuseError(f"field 'sd_card.size': the image is {image['image_size']} bytes; a card of "
                         f"{body['sd_card']['size']} GB ({card_bytes} bytes) cannot hold it")
    origin = {"order": source["_id"], "name": orders.image_name(source)}
    if auto_image is not None:
        origin["auto_image"] = auto_image
    fields = {**body, "recipe": source["recipe"], "warehouse": image["warehouse"], "image": dict(image),
              "image_source": origin}
    order = orders.record_order_of_image(db, fields, actor, now())
    deleting = orders.folder_deleting(db, image["folder"])
    if deleting is not None:  # the beat began deleting it meanwhile, and may not have seen this order
        reason = f"the image of order {source['_id']} is deleted from the warehouse (order {deleting['_id']} ended)"
        Cascades(db, publisher).cancel_order(order["_id"], actor, reason)
        raise ImageUnavailable(reason)
    move_on(db, publisher, order, actor)
    log.info("%s placed order %s of the image of order %s (%s, x%d)", actor, order["_id"], source["_id"],
             body["sd_card"]["type"], body["quantity"])
    return orders.find(db, order["_id"])


def move_on(db, publisher, order, actor):
    """Move a recorded order of an image made before (`created`, with `image_source`) on, as a creation
    would: to pending_writer with its write tasks published, or ready. Also the beat's repair of one whose
    placing stopped half-way (reconcile). The order moved, or None when it is no longer `created`."""
    source = order["image_source"]
    download = order["sd_card"]["type"] == "download"
    note = f"image of order {source['order']}" + (
        f" (auto-image {source['auto_image']}, its latest build)" if source.get("auto_image") else "")
    try:
        moved = transition(db.orders, order["_id"], ORDER, "image_reused_download" if download
                           else "image_reused_physical", actor, note=note)
    except IllegalTransition as exc:  # canceled, or moved on already
        log.info("order %s: %s", order["_id"], exc)
        return None
    if moved is not None and not download:
        Cascades(db, publisher).make_write_tasks(moved)
    return moved
