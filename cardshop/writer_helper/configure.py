"""writer.yaml for a host: addresses, the host's writer user, its password in a 0600 file.

The credentials are checked by logging into the scheduler (and asking it
for the user's role) before anything is written.
"""

import grp
import os

import yaml

from cardshop.config.load import ConfigError, load_config, validate_config
from cardshop.config.rules import check, plain_url_error, scheduler_client
from cardshop.config.writer import SCHEMA
from cardshop.validation import Validator
from cardshop.writer_helper.files import WRITER_GROUP, write_atomically
from cardshop.writer_helper.login import LoginError, log_in, use_proxy


# The answers `configure --from FILE` reads (and the prompts ask for).
ANSWERS = {
    "type": "object",
    "additionalProperties": False,
    "required": ["scheduler", "broker", "username"],
    "properties": {
        "scheduler": {"type": "string", "pattern": "^https?://", "description": "the scheduler API's URL"},
        "broker": SCHEMA["properties"]["broker"]["properties"]["url"],
        "username": SCHEMA["properties"]["broker"]["properties"]["username"],
        "password": {"type": "string", "minLength": 1},
        "password_file": {"type": "string", "minLength": 1},
        "http_proxy": {"type": "string", "pattern": "^https?://"},
        "scheduler_ca_file": {"type": "string", "minLength": 1},
        "broker_ca_file": {"type": "string", "minLength": 1},
        "warehouse_ca_file": {"type": "string", "minLength": 1},
        "warehouse": {"type": "string", "pattern": "^ftps?://", "description": "the warehouse `check` logs into"},
    },
}


class ConfigureError(Exception):
    """The answers or the credentials are not right; `kind` says which (answers, login, unreachable)."""

    def __init__(self, message, kind="answers"):
        super().__init__(message)
        self.kind = kind


def check_answers(answers):
    """Refuse answers the schema or the broker rule would refuse, before any login."""
    error = Validator(ANSWERS, noun="key").first_error(answers)
    if error:
        raise ConfigureError(error)
    if "password" not in answers and "password_file" not in answers:
        raise ConfigureError("missing key 'password' (or 'password_file')")
    error = (plain_url_error("broker", answers["broker"], "amqp", "amqps")
             or plain_url_error("scheduler", answers["scheduler"], "http", "https"))
    if error:
        raise ConfigureError(error)


def password(answers):
    if "password" in answers:
        return answers["password"]
    try:
        with open(answers["password_file"], encoding="utf-8") as handle:
            value = handle.read().strip()
    except OSError as exc:
        raise ConfigureError(f"key 'password_file': cannot read {answers['password_file']}: {exc.strerror}") from None
    if not value:
        raise ConfigureError(f"key 'password_file': {answers['password_file']} is empty")
    return value


def check_login(api_url, username, secret, proxy=None, ca_file=None):
    """Log in as the host's user; ConfigureError unless the scheduler accepts it as a writer."""
    use_proxy(proxy, ca_file)
    try:
        login, role = log_in(api_url, username, secret)
    except LoginError as exc:
        raise ConfigureError(str(exc), exc.kind) from None
    login.revoke()  # the check needs no session
    if role != "writer":
        raise ConfigureError(f"{username} is a {role or 'user of unknown role'} on the scheduler, not a writer; "
                             "each writer host needs a user of role writer", "login")


def document(answers, secret_path, slots_file, existing=None):
    """The writer.yaml mapping: the answers, keeping an existing file's other writer and logging keys."""
    existing = existing or {}
    writer = {**existing.get("writer", {}), "slots_file": slots_file}
    writer.pop("http_proxy", None)
    if answers.get("http_proxy"):
        writer["http_proxy"] = answers["http_proxy"]
    broker = {"url": answers["broker"], "username": answers["username"], "password_file": secret_path}
    if answers.get("broker_ca_file"):
        broker["ca_file"] = answers["broker_ca_file"]
    config = {"broker": broker, "scheduler": {"api_url": answers["scheduler"]}, "writer": writer}
    if answers.get("scheduler_ca_file"):
        config["scheduler"]["ca_file"] = answers["scheduler_ca_file"]
    if answers.get("warehouse_ca_file"):
        config.setdefault("warehouse", {})["ca_file"] = answers["warehouse_ca_file"]
    if answers.get("warehouse"):
        config.setdefault("warehouse", {})["url"] = answers["warehouse"]
    if existing.get("logging"):
        config["logging"] = existing["logging"]
    try:
        validate_config(SCHEMA, config)
        scheduler_client(config["scheduler"])
    except ConfigError as exc:
        raise ConfigureError(str(exc)) from None
    return config


def read_existing(path):
    """The raw mapping of an existing writer.yaml (empty when there is none or it is not a mapping)."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def write_secret(path, secret):
    """The password, 0640 root:cardshop-writer when the host has that group (the writer units read it
    and no other daemon), 0600 otherwise."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o750, exist_ok=True)
    try:
        gid = grp.getgrnam(WRITER_GROUP).gr_gid if os.geteuid() == 0 else None
    except KeyError:
        gid = None
    write_atomically(path, secret + "\n", mode=0o600)
    if gid is not None:
        os.chown(path, 0, gid)
        os.chmod(path, 0o640)


def write(config_path, config, secret_path, secret):
    """Write the password and writer.yaml, then load them as the writer does; returns the loaded config."""
    write_secret(secret_path, secret)
    write_atomically(config_path, "# Written by cardshop-writer-helper configure.\n"
                     + yaml.safe_dump(config, sort_keys=False), mode=0o644)
    return check(load_config(SCHEMA, config_path))
