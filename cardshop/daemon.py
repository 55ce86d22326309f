"""The one runner every daemon entry point calls (as Synapse's app/_base.py serves its app modules).

It parses `--config` and the sub-commands, sets up logging, loads the config
(schema first, then the rules of cardshop.config.rules), hands the daemon's
`serve(config, notifier)` a systemd Notifier, and turns the outcome into one
log line and an exit code. Each daemon's own loop sends WATCHDOG.
"""

import argparse
import importlib
import logging
import os
import sys

from cardshop.config import ConfigError, load_config
from cardshop.config.rules import check
from cardshop.systemd.notify import Notifier

EX_OK, EX_FAILURE, EX_CONFIG = 0, 1, 78


def setup_logging(level="info"):
    """Log to stderr; no timestamps when journald adds its own."""
    under_journal = bool(os.environ.get("JOURNAL_STREAM"))
    fmt = "%(levelname)s %(name)s: %(message)s" if under_journal else \
        "%(asctime)s %(levelname)s %(name)s: %(message)s"
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(fmt))
    root.addHandler(handler)
    root.setLevel(level.upper())
    # Waitress logs every queue backlog at WARNING; keep it but not its chatter.
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)


def run(main, name):
    """Call main() and turn its outcome into one log line and an exit code."""
    try:
        return main() or EX_OK
    except ConfigError as exc:
        logging.getLogger(name).critical("configuration error: %s", exc)
        return EX_CONFIG
    except KeyboardInterrupt:
        return EX_OK
    except Exception as exc:  # the last line of defence: one line, then exit
        logging.getLogger(name).critical("%s: %s", type(exc).__name__, exc, exc_info=True)
        return EX_FAILURE


def _call(target, *args):
    """`target` is "module:function", imported only now: a config error costs no heavy imports."""
    module, _, function = target.partition(":")
    return getattr(importlib.import_module(module), function)(*args)


def main(name, description, schema, default_path, serve, commands=(), argv=None, arguments=None):
    """Run a daemon: `serve` ("module:function") gets (config, notifier); returns the exit code.

    `commands` adds sub-commands as (name, help, add_arguments, "module:function"),
    the function getting (config, args). `serve` and `check-config` always exist.
    `arguments(parser)` adds options of the daemon itself (writer@N's --slot);
    `serve` then gets (config, notifier, args).
    """
    parser = argparse.ArgumentParser(prog=name, description=description)
    parser.add_argument("--config", default=default_path, help=f"config file (default {default_path})")
    if arguments:
        arguments(parser)
    subparsers = parser.add_subparsers(dest="command")
    subparsers.add_parser("serve", help="run the daemon (the default)")
    subparsers.add_parser("check-config", help="check the config with every rule `serve` runs, and exit")
    handlers = {}
    for command, help_text, add_arguments, handler in commands:
        add_arguments(subparsers.add_parser(command, help=help_text))
        handlers[command] = handler
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    setup_logging()

    def start():
        config = check(load_config(schema, args.config))
        setup_logging(config["logging"]["level"])
        if args.command == "check-config":
            print(f"{args.config}: valid")
            return EX_OK
        if args.command in handlers:
            return _call(handlers[args.command], config, args)
        return _call(serve, config, Notifier(), *((args,) if arguments else ()))

    return run(start, name)
