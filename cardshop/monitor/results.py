"""A create task's result is checked against the warehouse before the task counts as done.

A creator reports `done` with the files it uploaded. The monitor believes
none of it: the result must be well-formed, name the order's warehouse and
the task's own folder with the order's image name, and the warehouse
(asked as the system user) must hold those files with the reported sizes,
and the `.sha256` file the reported checksum.
"""

import ftplib
import logging
import time

from cardshop.client import CredentialsError
from cardshop.validation import Validator
from cardshop.client.warehouse import WarehouseClient, WarehouseError
from cardshop.store import orders, warehouses

log = logging.getLogger(__name__)

_SIZE = {"type": "integer", "minimum": 0}
RESULT_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["warehouse", "folder", "files", "sha256", "image_size", "compressed_size"],
    "properties": {
        "warehouse": {"type": "string", "maxLength": 64},
        "folder": {"type": "string", "pattern": "^[0-9a-f]{24}$"},
        "files": {"type": "object", "additionalProperties": False, "required": ["image", "bmap", "sha256"],
                  "properties": {key: {"type": "string", "maxLength": 400} for key in ("image", "bmap", "sha256")}},
        "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "image_size": _SIZE, "compressed_size": _SIZE, "mapped_size": _SIZE, "data_offset": _SIZE,
        "card_size": {"type": "integer", "minimum": 1, "maximum": 4096},
    },
}
_VALIDATOR = Validator(RESULT_SCHEMA, noun="result field")
MAX_BMAP = 64 * 1024 * 1024
PATIENCE = 120  # seconds a task's report waits for an unreachable warehouse before the task fails


class WarehouseUnavailable(Exception):
    """The warehouse could not be asked; the report waits and is tried again."""


class ResultChecker:
    def __init__(self, db, tokens, ca_file=None, patience=PATIENCE):
        self.db = db
        self.tokens = tokens  # the system user's, for the warehouse
        self.ca_file = ca_file
        self.patience = patience
        self._waiting = {}  # task id -> when its check first found the warehouse away

    def problem(self, task, result):
        """None when the result holds; else why it does not (one line).

        WarehouseUnavailable while the warehouse cannot be asked, for up to
        `patience` seconds per task; after that, the task fails with that reason
        (the order can then be retried) rather than hold up every other report.
        """
        try:
            found = self._problem(task, result)
        except WarehouseUnavailable as exc:
            since = self._waiting.setdefault(task["_id"], time.monotonic())
            if time.monotonic() - since < self.patience:
                raise
            found = f"{exc} (for {self.patience} s)"
        self._waiting.pop(task["_id"], None)
        return found

    def _problem(self, task, result):
        error = _VALIDATOR.first_error(result)
        if error:
            return error
        order = orders.find(self.db, task["order"], {"warehouse": 1, **orders.IMAGE_NAME_FIELDS})
        if order is None:
            return "the task's order is gone"
        if result["warehouse"] != order["warehouse"]:
            return f"the image is in warehouse {result['warehouse']!r}, not the order's {order['warehouse']!r}"
        if result["folder"] != task["_id"]:
            return f"the image is in folder {result['folder']!r}, not the task's own"
        name = orders.image_name(order)
        expected = {"image": f"{name}.img.zst", "bmap": f"{name}.bmap", "sha256": f"{name}.sha256"}
        for key, file_name in expected.items():
            if result["files"][key] != f"/{task['_id']}/{file_name}":
                return f"result field 'files.{key}' must be /{task['_id']}/{file_name}"
        warehouse = warehouses.find(self.db, order["warehouse"], {"upload_url": 1}) or {}
        if not warehouse.get("upload_url"):
            return f"warehouse {order['warehouse']!r} has no URL to check the image at"
        return self._check_files(warehouse["upload_url"], result, f"{name}.img")

    def _check_files(self, url, result, image_name):
        checksum_line = f"{result['sha256']}  {image_name}\n".encode()
        try:
            client = WarehouseClient(url, self.tokens.username, self.tokens.access_token(), self.ca_file, timeout=20)
            client.connect()
        except (WarehouseError, CredentialsError, OSError) as exc:
            raise WarehouseUnavailable(f"cannot check the result in the warehouse: {exc}") from None
        try:
            sizes = {key: client.size_of(path) for key, path in result["files"].items()}
            missing = [result["files"][key] for key, size in sizes.items() if size is None]
            if missing:
                return f"the warehouse holds no {missing[0]}"
            if sizes["image"] != result["compressed_size"]:
                return (f"{result['files']['image']} is {sizes['image']} bytes in the warehouse, "
                        f"not the {result['compressed_size']} reported")
            if not 0 < sizes["bmap"] <= MAX_BMAP:
                return f"{result['files']['bmap']} is {sizes['bmap']} bytes: not a block map"
            if sizes["sha256"] != len(checksum_line):
                return f"{result['files']['sha256']} does not hold the reported checksum"
            try:
                held = client.read(result["files"]["sha256"], len(checksum_line))
            except WarehouseError:  # grew past its size since it was measured
                held = None
            if held != checksum_line:
                return f"{result['files']['sha256']} does not hold the reported checksum"
            return None
        except ftplib.error_perm as exc:
            return f"the warehouse refused to show the image: {exc}"
        except ftplib.all_errors as exc:
            raise WarehouseUnavailable(f"cannot check the result in the warehouse: {exc}") from None
        finally:
            client.close()
