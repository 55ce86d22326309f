"""Auto-images: the latest build of each recipe the beat rebuilds on a schedule, by its stable name."""

import datetime
import json

from cardshop.api import schemas
from cardshop.api.resources import paginate
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.store import auto_images, warehouses

api = Api()


AUTO_IMAGE = {"type": "object", "properties": {
    "_id": {"type": "string", "description": "the stable name"}, "order": {"type": "string"},
    "image": {"type": "object"}, "warehouse": {"type": "string"}, "download_url": {"type": ["string", "null"]},
    "updated_at": schemas.TIME}, "required": ["_id", "order", "image"]}


def _with_url(db, entry):
    """The entry as the API shows it; whatever is stored (even a damaged entry) gives no error."""
    # Only JSON types survive (the image is the creator's result, as stored).
    image = json.loads(json.dumps(entry["image"], default=str)) if isinstance(entry.get("image"), dict) else {}
    files = image.get("files") if isinstance(image.get("files"), dict) else {}
    warehouse_name = entry.get("warehouse") if isinstance(entry.get("warehouse"), str) else None
    warehouse = (warehouses.find(db, warehouse_name, {"download_url": 1}) or {}) if warehouse_name else {}
    url = warehouse.get("download_url")
    base = url.rstrip("/") if isinstance(url, str) else ""
    path = files.get("image")
    view = {"_id": str(entry["_id"]), "order": entry.get("order") if isinstance(entry.get("order"), str) else "",
            "image": image, "download_url": f"{base}{path}" if base and isinstance(path, str) else None}
    if warehouse_name:
        view["warehouse"] = warehouse_name
    if isinstance(entry.get("updated_at"), datetime.datetime):
        view["updated_at"] = entry["updated_at"]
    return view


@api.route("GET", "/auto-images", summary="The latest build of every auto-image, by its stable name",
           roles=roles.OPERATORS, query=schemas.PAGE_QUERY, response=schemas.page_of(AUTO_IMAGE), errors=[400, 401, 403])
def list_auto_images(call):
    db = call.services.db
    return paginate(db.auto_images, call.query, {}, [("_id", 1)], view=lambda entry: _with_url(db, entry))


@api.route("GET", "/auto-images/{name}", summary="The latest build of one auto-image (a stable name)",
           roles=roles.OPERATORS, response=AUTO_IMAGE, errors=[401, 403, 404])
def read_auto_image(call):
    db = call.services.db
    entry = auto_images.find(db, call.params["name"])
    if entry is None:
        raise ApiError(404, f"no auto-image {call.params['name']!r} has been built yet")
    return _with_url(db, entry)
