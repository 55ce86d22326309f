"""Load a daemon's YAML configuration, validate it against its schema, fill defaults."""

import copy
import os
import stat

import yaml

from cardshop.validation import Validator

EX_CONFIG = 78  # sysexits.h: configuration error


class ConfigError(Exception):
    """A configuration problem; the message names the key and what is wrong."""

    exit_code = EX_CONFIG


def _fill_defaults(schema, value):
    """Return value with every default of the schema filled in (dicts only)."""
    if schema.get("type") != "object" or not isinstance(value, dict):
        return value
    result = dict(value)
    for name, sub in schema.get("properties", {}).items():
        if name not in result and "default" in sub:
            result[name] = copy.deepcopy(sub["default"])
        if name not in result and sub.get("type") == "object" and "properties" in sub:
            if not sub.get("x-optional-section"):
                result[name] = {}
        if name in result:
            result[name] = _fill_defaults(sub, result[name])
    return result


def _empty_sections(schema, value):
    """`section:` with every key commented out is YAML null: read it as an empty section."""
    if not isinstance(value, dict):
        return value
    result = dict(value)
    for name, sub in schema.get("properties", {}).items():
        if sub.get("type") == "object" and name in result:
            result[name] = {} if result[name] is None else _empty_sections(sub, result[name])
    return result


def validate_config(schema, data):
    """Validate a parsed document; return it with defaults filled in."""
    data = _empty_sections(schema, {} if data is None else data)
    error = Validator(schema, noun="key").first_error(data)
    if error:
        raise ConfigError(error)
    return _fill_defaults(schema, data)


def load_config(schema, path):
    """Read, parse and validate the YAML file at path."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping of keys")
    return validate_config(schema, data)


def read_secret(path, key):
    """Read a secret from a file, refusing files that anyone may read.

    `key` names the config key that pointed at the file, for the error.
    """
    try:
        mode = os.stat(path).st_mode
        with open(path, encoding="utf-8") as handle:
            value = handle.read().strip()
    except OSError as exc:
        raise ConfigError(f"key {key!r}: cannot read {path}: {exc.strerror}") from None
    if mode & stat.S_IROTH:
        raise ConfigError(
            f"key {key!r}: {path} is readable by everyone (mode {stat.S_IMODE(mode):04o}); "
            "make it 0640 or tighter"
        )
    if not value:
        raise ConfigError(f"key {key!r}: {path} is empty")
    return value
