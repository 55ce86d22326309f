"""What every daemon's entry point shares: logging set-up and exit codes."""

import logging
import os
import sys

from cardshop.config import ConfigError

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
