"""A writer slot's state on its own host, for machines: a JSON file, and the drain request beside it.

    <runtime_dir>/slot-<N>/state.json   writer@N rewrites it whole (rename) at every change
    <runtime_dir>/slot-<N>/drain        cardshop-writer-helper makes it: take no new task, stop once idle

The folder is writer@N's RuntimeDirectory: systemd removes it when the slot
stops, so a state never outlives its slot and a drain request ends with the run
it was made for. The file's fields (FORMAT 1, `SCHEMA`) are the interface;
systemd's STATUS line is for people and may change its words.

`drained` is true once the slot saw the request and holds nothing: not busy, not
consuming its queue, no delivery unsettled. From then on it takes no task until
the request is withdrawn, so stopping it cannot cut a card short.
"""

import datetime
import json
import os

from cardshop.pipeline.heartbeat import CARD_SCHEMA, MAX_SLOTS, SLOT_STATES, SLOT_STEPS
from cardshop.validation import ID_PATTERN, Validator

FORMAT = 1
STATE_FILE = "state.json"
DRAIN_FILE = "drain"
MAX_BYTES = 64 * 1024  # a state is a few hundred bytes: anything larger is not one

SCHEMA = {
    "type": "object",
    # Unknown fields are ignored: a slot started before an upgrade may write more, or fewer optional ones.
    "required": ["format", "slot", "pid", "state", "since", "draining", "consuming", "drained"],
    "properties": {
        "format": {"const": FORMAT},
        "slot": {"type": "integer", "minimum": 1, "maximum": MAX_SLOTS},
        "pid": {"type": "integer", "minimum": 1},
        "state": {"enum": list(SLOT_STATES)},
        "since": {"type": "string", "maxLength": 40},
        "message": {"type": "string", "maxLength": 500},
        "card": {"anyOf": [{"type": "null"}, CARD_SCHEMA]},
        "task": {"type": ["string", "null"], "pattern": ID_PATTERN},
        "order": {"type": ["string", "null"], "pattern": ID_PATTERN},
        "step": {"enum": [None, *SLOT_STEPS]},
        # The step's progress, as a task's progress report has it (pipeline/reports.py); null when none.
        "progress": {"anyOf": [{"type": "null"}, {
            "type": "object", "required": ["percent", "bytes", "total", "rate"],
            "properties": {"percent": {"type": "number", "minimum": 0, "maximum": 100},
                           "bytes": {"type": "integer", "minimum": 0}, "total": {"type": "integer", "minimum": 0},
                           "rate": {"type": "number", "minimum": 0},
                           "eta": {"type": ["number", "null"], "minimum": 0}}}]},
        "draining": {"type": "boolean"},
        "consuming": {"type": "boolean"},
        "drained": {"type": "boolean"},
    },
}
_VALIDATOR = Validator(SCHEMA)


class SlotStateError(Exception):
    """A slot's state file cannot be read, or holds no slot state."""


def folder(runtime_dir, number):
    return os.path.join(runtime_dir, f"slot-{number}")


def state_path(runtime_dir, number):
    return os.path.join(folder(runtime_dir, number), STATE_FILE)


def drain_path(runtime_dir, number):
    return os.path.join(folder(runtime_dir, number), DRAIN_FILE)


def timestamp(seconds):
    """`seconds` since the epoch as the file gives times: ISO 8601 in UTC."""
    return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).isoformat(timespec="seconds")


# -- the slot's side --------------------------------------------------------------------------------

def write(runtime_dir, number, document):
    """Replace the slot's state file with `document` in one rename (OSError when it cannot)."""
    path = state_path(runtime_dir, number)
    os.makedirs(os.path.dirname(path), mode=0o750, exist_ok=True)
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(document, handle, sort_keys=True)
        handle.write("\n")
    os.replace(temporary, path)


def remove(runtime_dir, number):
    """The slot stops: its state goes with it (systemd removes the whole folder too)."""
    try:
        os.unlink(state_path(runtime_dir, number))
    except FileNotFoundError:
        pass


def drain_requested(runtime_dir, number):
    return os.path.lexists(drain_path(runtime_dir, number))


# -- the host's side (cardshop-writer-helper) -----------------------------------------------------------

def read(runtime_dir, number):
    """The state slot `number` published (a dict), or None when it published none."""
    path = state_path(runtime_dir, number)
    try:
        # Not following a link: the folder is the slot's, the reader may be root.
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with os.fdopen(fd, encoding="utf-8", errors="replace") as handle:
            text = handle.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SlotStateError(f"cannot read {path}: {exc.strerror}") from None
    if len(text) > MAX_BYTES:
        raise SlotStateError(f"{path} is larger than a slot's state ({MAX_BYTES} bytes)")
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise SlotStateError(f"{path} is not JSON: {exc}") from None
    error = _VALIDATOR.first_error(document)
    if error:
        raise SlotStateError(f"{path} holds no slot state: {error}")
    if document["slot"] != number:
        raise SlotStateError(f"{path} is the state of slot {document['slot']}, not of slot {number}")
    return document


def request_drain(runtime_dir, number):
    """Ask slot `number` to drain: True when asked now, False when it was asked already, None when the slot
    has no folder (not running: nothing to ask, and a request must not wait for its next start)."""
    try:
        # O_EXCL and O_NOFOLLOW: never writes through whatever the slot put there.
        os.close(os.open(drain_path(runtime_dir, number), os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                         0o644))
        return True
    except FileExistsError:
        return False
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SlotStateError(f"cannot ask slot {number} to drain ({drain_path(runtime_dir, number)}): "
                             f"{exc.strerror}") from None


def withdraw_drain(runtime_dir, number):
    """The slot takes tasks again; True when a request was there."""
    try:
        os.unlink(drain_path(runtime_dir, number))
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise SlotStateError(f"cannot withdraw the drain of slot {number}: {exc.strerror}") from None
