"""Start background processes, remember their PIDs, stop exactly those."""

import contextlib
import os
import random
import signal
import socket
import subprocess
import time


class StackError(Exception):
    pass


def wait_until(predicate, timeout=20, interval=0.1):
    """predicate()'s first true value, polling; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"not true within {timeout} s: {predicate.__doc__ or predicate}")


# Below these, the well-known and registered ports of services this machine may run.
_LOWEST_PORT = 10000
_handed_out = set()


def free_port():
    """A port free on loopback now, outside the kernel's ephemeral range: a client's outgoing connection
    (any of the thousands a test makes) never takes it before our server binds it."""
    low, high = _ephemeral_range()
    outside = [(first, last) for first, last in ((_LOWEST_PORT, low - 1), (high + 1, 65535)) if last >= first]
    if not outside:  # the whole range is ephemeral: the kernel's choice is as good as ours
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    total = sum(last - first + 1 for first, last in outside)
    for _ in range(1000):
        pick = random.randrange(total)
        for first, last in outside:
            if pick <= last - first:
                port = first + pick
                break
            pick -= last - first + 1
        if port not in _handed_out and _bindable(port):
            _handed_out.add(port)
            return port
    raise StackError("no free port outside the ephemeral range after 1000 tries")


def _ephemeral_range():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as handle:
            low, high = (int(value) for value in handle.read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


def _bindable(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_for_port(port, timeout, process=None, name="server", log_path=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(f"{name} exited with code {process.returncode}" + _log_tail(log_path))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise StackError(f"{name} did not listen on port {port} within {timeout} s" + _log_tail(log_path))


def _log_tail(path, lines=15):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as handle:
        tail = handle.readlines()[-lines:]
    return f"; last lines of {path}:\n" + "".join(tail)


# The local stack runs as root (its slots open loop devices); installed, each worker runs as a system user
# of its own. Celery's warning about root would fill every worker's log here: silenced, in the stack only.
ROOT_WARNING_FILTER = "ignore:You're running the worker with superuser privileges"


class Process:
    """A background process with its PID file and log under `run_dir`."""

    def __init__(self, name, run_dir):
        self.name = name
        self.pid_path = os.path.join(run_dir, f"{name}.pid")
        self.log_path = os.path.join(run_dir, f"{name}.log")
        self.popen = None

    def start(self, argv, env=None, cwd=None):
        """Start `argv` in a session of its own; a StackError when this PID file names a live process (an
        earlier start's, still running: starting again would lose track of it)."""
        if self.popen is None and self.running():
            raise StackError(f"{self.name} of an earlier start is still running (pid {self.pid}, "
                             f"{self.pid_path}): stop it first (make down)")
        os.makedirs(os.path.dirname(self.pid_path), exist_ok=True)
        env = dict(os.environ if env is None else env)
        env.setdefault("PYTHONWARNINGS", ROOT_WARNING_FILTER)
        log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                      env=env, cwd=cwd, start_new_session=True)
        log.close()
        with open(self.pid_path, "w") as handle:
            handle.write(f"{self.popen.pid}\n")
        return self.popen

    @property
    def pid(self):
        try:
            with open(self.pid_path) as handle:
                return int(handle.read().strip())
        except (OSError, ValueError):
            return None

    def running(self):
        pid = self.pid
        if pid is None:
            return False
        if self.popen is not None and self.popen.pid == pid:
            return self.popen.poll() is None
        return _alive(pid)

    def signal_group(self, signum):
        """Send a signal to the process group we started (the process and its children)."""
        pid = self.pid
        if pid is not None and self.running():
            try:
                os.killpg(pid, signum)
            except ProcessLookupError:
                pass

    def stop(self, timeout=30):
        pid = self.pid
        if pid is None:
            return False
        was_running = self.running()
        if was_running:
            self.signal_group(signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while self.running() and time.monotonic() < deadline:
                time.sleep(0.1)
            if self.running():
                self.signal_group(signal.SIGKILL)
                while self.running():
                    time.sleep(0.1)
        if self.popen is not None:
            self.popen.wait()
        os.unlink(self.pid_path)
        return was_running

    def kill9(self):
        """Hard-kill the process group and every descendant (fault injection), gone when this returns.

        A descendant may sit in a session or a container of its own (PostgreSQL as PID 1 of its
        nspawn container): the kernel ends those after their parent, in the background, and until
        then a database backend still answers queries on its open connection."""
        pid = self.pid
        doomed = _descendants(pid) if pid is not None and self.running() else []
        self.signal_group(signal.SIGKILL)
        for child in doomed:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        if self.popen is not None:
            self.popen.wait()
        wait_until(lambda: not any(_alive(child) for child in doomed), timeout=30)


def _descendants(pid):
    """Every process below `pid` (host PIDs, through any PID namespace), from /proc."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    parent = int(handle.read().rsplit(") ", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, frontier = [], [pid]
    while frontier:
        below = children.get(frontier.pop(), [])
        found += below
        frontier += below
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(") ", 1)[1][0] != "Z"
    except OSError:
        return False
