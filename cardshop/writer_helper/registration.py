"""This host's slots, registered with the scheduler under the host's writer user and this host's name.

The scheduler files the heartbeats of registered slots only, and places work
only on them, so that a writer account cannot invent slots: an operator
(role manager) or an admin registers them (`register`, `enable --login`).
The host itself may give a slot up (`forget`), with its writer login. The
host's name is `socket.gethostname()`, the name its writer@N processes give.
"""

import os
import socket
import urllib.parse

from cardshop.auth import roles
from cardshop.client import ApiUnreachable
from cardshop.config import ConfigError, load_config, read_secret
from cardshop.config.writer import SCHEMA
from cardshop.writer_helper import login as scheduler


class RegistrationError(Exception):
    """The scheduler could not be asked, or said no; `kind` says which: login, unreachable, refused,
    missing or config (writer.yaml is missing, or invalid)."""

    def __init__(self, message, kind="refused"):
        super().__init__(message)
        self.kind = kind


def host_name():
    """This host's name, as its slots' heartbeats give it (cardshop/writer/worker.py)."""
    return socket.gethostname()


def writer_config(path):
    """writer.yaml (the scheduler's address, the host's writer user), its proxy in use from now on."""
    if not os.path.exists(path):
        raise RegistrationError(f"no {path}: run `cardshop-writer-helper configure` first", "missing")
    try:
        config = load_config(SCHEMA, path)
    except ConfigError as exc:
        raise RegistrationError(f"{path} is invalid: {exc}", "config") from None
    scheduler.use_proxy(config["writer"].get("http_proxy"), config["scheduler"].get("ca_file"))
    return config


def wanted(mapping):
    """The slot list the scheduler takes, from slots.yaml's entries: number and reader identity."""
    return [{"number": item["slot"], "reader": {key: item[key] for key in ("match", "device", "label") if key in item}}
            for item in sorted(mapping, key=lambda item: item["slot"])]


def log_in(api_url, username, secret, operator=True):
    """A Login of `username` on the scheduler (an operator or admin unless `operator` is false)."""
    try:
        login, role = scheduler.log_in(api_url, username, secret)
    except scheduler.LoginError as exc:
        raise RegistrationError(str(exc), exc.kind) from None
    if operator and role not in roles.OPERATORS:
        login.revoke()
        raise RegistrationError(f"{username} is a {role} on the scheduler: registering slots takes the login "
                                "of a manager or an admin", "login")
    return login


def _path(writer, host):
    return f"/writer-hosts/{urllib.parse.quote(writer)}@{urllib.parse.quote(host)}/slots"


def _ask(client, method, path, body=None):
    try:
        reply = client.request(method, path, body)
    except ApiUnreachable as exc:
        raise RegistrationError(str(exc), "unreachable") from None
    if reply.status in (401, 403):
        raise RegistrationError(f"the scheduler refused: {reply.error}", "login")
    return reply


def register(client, writer, host, mapping):
    """Make the scheduler's slots of `writer@host` those of `mapping` (slots.yaml); asks first, so that an
    unchanged host sends nothing. Returns {"writer", "host", "slots", "unregistered", "changed"}."""
    path = _path(writer, host)
    current = _ask(client, "GET", path)
    if not current.ok:
        raise RegistrationError(f"the scheduler has no writer host {writer}@{host}: {current.error}")
    want = wanted(mapping)
    have = [{"number": slot["number"], "reader": slot["reader"]} for slot in current.body["slots"]]
    lost = sorted({slot["number"] for slot in have} - {slot["number"] for slot in want})
    if have != want:
        reply = _ask(client, "PUT", path, {"slots": want})
        if not reply.ok:
            raise RegistrationError(f"the scheduler did not register the slots of {writer}@{host}: {reply.error}")
    return {"writer": writer, "host": host, "slots": [slot["number"] for slot in want], "unregistered": lost,
            "changed": have != want}


def unregister(client, writer, host, number):
    """Unregister one slot; False when the scheduler did not have it registered."""
    reply = _ask(client, "DELETE", f"{_path(writer, host)}/{number}")
    if reply.status == 404 and "is not registered" in reply.error:
        return False
    if not reply.ok:
        raise RegistrationError(f"the scheduler did not unregister slot {number} of {writer}@{host}: {reply.error}")
    return True


def register_host(config, login_name, secret, mapping):
    """Log in as the operator `login_name`, register `mapping` under writer.yaml's writer and this host's
    name, log out; `register`'s answer."""
    login = log_in(config["scheduler"]["api_url"], login_name, secret)
    try:
        return register(login.client, config["broker"]["username"], host_name(), mapping)
    finally:
        login.revoke()


def unregister_own(config, number):
    """Unregister slot `number` of this host with the host's own writer login; (`<user>@<host>`, whether
    the scheduler had it)."""
    broker = config["broker"]
    try:
        secret = read_secret(broker["password_file"], "broker.password_file")
    except ConfigError as exc:
        raise RegistrationError(f"writer.yaml: {exc}", "config") from None
    login = log_in(config["scheduler"]["api_url"], broker["username"], secret, operator=False)
    try:
        return f"{broker['username']}@{host_name()}", unregister(login.client, broker["username"], host_name(), number)
    finally:
        login.revoke()
