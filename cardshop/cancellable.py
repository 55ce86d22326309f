"""A cancellable subprocess runner: a cancel token checked between steps, and subprocesses that die with it."""

import contextlib
import os
import signal
import subprocess
import threading


class Canceled(Exception):
    """The work was canceled; whatever it started is stopped and cleaned up."""


class CancelToken:
    def __init__(self):
        self._event = threading.Event()
        self.reason = None

    def cancel(self, reason="canceled"):
        self.reason = reason
        self._event.set()

    @property
    def canceled(self):
        return self._event.is_set()

    def check(self):
        if self._event.is_set():
            raise Canceled(self.reason)

    def wait(self, seconds):
        return self._event.wait(seconds)


class CommandError(Exception):
    pass


def _kill_group(process):
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=3)
            return
        except subprocess.TimeoutExpired:
            continue


def _start(argv, stdin, stdout):
    """The command in its own process group, and the list its stderr lands in (with the thread reading it)."""
    process = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                               stdout=stdout if stdout is not None else subprocess.DEVNULL,
                               stderr=subprocess.PIPE, start_new_session=True)
    errors = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)
    reader.start()
    return process, errors, reader


def _check_exit(argv, process, errors):
    if process.returncode != 0:
        message = (errors[0] if errors else b"").decode(errors="replace").strip().splitlines()
        raise CommandError(f"{os.path.basename(argv[0])} failed (exit {process.returncode}): "
                           f"{message[-1] if message else 'no message'}")


def run(argv, cancel=None, stdin=None, stdout=None, poll=0.2):
    """Run a command in its own process group; kill the group if `cancel` fires.

    Raises CommandError (with the command's stderr) on a non-zero exit.
    """
    process, errors, reader = _start(argv, stdin, stdout)
    try:
        while True:
            try:
                process.wait(timeout=poll)
                break
            except subprocess.TimeoutExpired:
                if cancel is not None and cancel.canceled:
                    _kill_group(process)
                    raise Canceled(cancel.reason) from None
    except BaseException:
        if process.poll() is None:
            _kill_group(process)
        raise
    finally:
        reader.join(timeout=5)
    _check_exit(argv, process, errors)


@contextlib.contextmanager
def reading(argv):
    """Run a command whose output the block reads (the pipe is yielded), in its own process group.

    The block checks its cancel token between reads. Leaving it by an exception
    (a limit reached, a cancel) kills the group at once; leaving it normally
    waits for the exit and raises CommandError on a non-zero one, so a block
    that stops reading early must raise.
    """
    process, errors, reader = _start(argv, None, subprocess.PIPE)
    try:
        yield process.stdout
        process.stdout.close()
        process.wait()
    except BaseException:
        _kill_group(process)
        raise
    finally:
        process.stdout.close()
        reader.join(timeout=5)
    _check_exit(argv, process, errors)
