"""Booted Debian 13 systems for the system tests: systemd-nspawn over an overlay of one base root.

The base root (var/rootfs/system) comes from packaging/rootfs.sh; every Debian
package our .debs depend on (and rabbitmq-server, nginx) is downloaded into its apt
cache once, lists kept, so a container without network (`--private-network`:
its own loopback, no package mirror, no clash with the host's ports) still
installs `apt install ./x.deb` with its dependencies from Debian.

Each machine is an overlayfs over that base, booted with `systemd-nspawn
--boot`; commands run in it with nsenter. `Machine.close()` powers it off
(bounded, then kills the nspawn process it started, by PID), unmounts the
overlay and deletes it.
"""

import glob
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import time

log = logging.getLogger(__name__)

REPO = os.environ.get("CARDSHOP_REPO") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VAR = os.path.join(REPO, "var")
BASE = os.path.join(VAR, "rootfs", "system")
MACHINES = os.path.join(VAR, "machines")
# Always in the base's cache, beside what the .debs ask for: the broker and the TLS front of the central host.
EXTRA_PACKAGES = ("rabbitmq-server", "nginx")
ENV = {"SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"}  # cgroup v2: device policies, clean shutdowns
INSIDE_ENV = ["env", "-i", "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", "HOME=/root",
              "DEBIAN_FRONTEND=noninteractive", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", "TERM=dumb"]


class MachineError(Exception):
    """A test system could not be prepared, booted, reached or stopped."""


# -- the base root --------------------------------------------------------------

def deb_fields(path, *fields):
    """{field: value} of a .deb's control fields."""
    out = subprocess.run(["dpkg-deb", "-f", path, *fields], capture_output=True, text=True, check=True).stdout
    if len(fields) == 1:  # dpkg-deb prints one field's bare value
        return {fields[0]: out.strip()}
    values, key = {}, None
    for line in out.splitlines():
        if line[:1].isspace() and key:
            values[key] += " " + line.strip()
        elif ":" in line:
            key, value = line.split(":", 1)
            values[key] = value.strip()
    return values


def dependency_groups(debs):
    """The .debs' Depends, Pre-Depends and Recommends as groups of alternatives, minus the .debs themselves."""
    own, groups = set(), set()
    for deb in debs:
        fields = deb_fields(deb, "Package", "Depends", "Pre-Depends", "Recommends")
        own.add(fields.get("Package"))
        for key in ("Depends", "Pre-Depends", "Recommends"):
            for group in fields.get(key, "").split(","):
                names = tuple(re.sub(r"[\s(].*", "", name.strip()).split(":")[0] for name in group.split("|"))
                names = tuple(name for name in names if name and not name.startswith("${"))
                if names:
                    groups.add(names)
    return sorted(group for group in groups if not own & set(group))


def in_root(script, root=BASE, timeout=900):
    """Run a shell script in a root (not booted; host network: the mirror is reachable)."""
    done = subprocess.run(["systemd-nspawn", "-q", "-D", root, "--register=no", "--keep-unit", "--pipe",
                           *INSIDE_ENV, "sh", "-c", script],
                          env={**os.environ, **ENV}, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise MachineError(f"{root}: {script!r} failed: {done.stderr.strip()[-2000:]}")
    return done.stdout


def ensure_base(debs=()):
    """The base root with every dependency of `debs` downloaded into its apt cache; made once, topped up.

    Debian names that do not exist (a Recommends of MongoDB, say) are skipped: apt skips them too.
    """
    if not os.path.exists(os.path.join(BASE, ".cardshop-rootfs")):
        subprocess.run(["sh", os.path.join(REPO, "packaging", "rootfs.sh"), BASE], check=True, timeout=1800)
    stamp = os.path.join(VAR, "rootfs", "system.downloaded")
    groups = sorted(set(dependency_groups(debs)) | {(name,) for name in EXTRA_PACKAGES})
    have = set(open(stamp).read().split("\n")) if os.path.exists(stamp) else set()
    missing = [group for group in groups if " | ".join(group) not in have]
    if not missing:
        return BASE
    log.info("downloading into the base root's apt cache: %s", ", ".join(" | ".join(g) for g in missing))
    listed = glob.glob(os.path.join(BASE, "var/lib/apt/lists/*_Packages"))
    known = set(in_root(("" if listed else "apt-get update -q >&2 && ") + "apt-cache pkgnames").split())
    # apt takes the first alternative it can (a Recommends of MongoDB, say, does not exist in Debian).
    chosen = sorted({next((name for name in group if name in known), None) for group in missing} - {None})
    if chosen:
        in_root("apt-get install -y -q --download-only " + " ".join(chosen))
    with open(stamp, "w") as handle:
        handle.write("\n".join(sorted(have | {" | ".join(group) for group in missing})) + "\n")
    return BASE


# -- a booted machine -------------------------------------------------------------

def _children(pid):
    found = []
    for task in glob.glob(f"/proc/{pid}/task/*/children"):
        try:
            found += [int(child) for child in open(task).read().split()]
        except OSError:
            pass
    return found


class Machine:
    """One booted Debian 13 system: an overlay over the base root, systemd as PID 1.

    Its network is its own loopback only (`--private-network`), or, given `netns`
    and `bridge`, a veth on that bridge of that network namespace (a fleet of
    machines on one private network). `cgroup`: a cgroup v1 folder the machine
    runs in (blkio limits to slow its cards down on purpose).
    """

    def __init__(self, name, binds=(), private_network=True, base=BASE, netns=None, bridge=None, cgroup=None):
        self.name = name
        self.dir = os.path.join(MACHINES, name)
        self.root = os.path.join(self.dir, "root")
        self.base = base
        self.binds = list(binds)
        self.private_network = private_network
        self.netns, self.bridge, self.cgroup = netns, bridge, cgroup
        self.nspawn = None
        self.pid = None  # the container's systemd, as the host sees it
        self.console = os.path.join(self.dir, "console.log")
        self.mounted = False
        # site.api's CARDSHOP_API / CARDSHOP_CA_FILE for inside_api.py (its default: the API on loopback)
        self.api_env = {}

    # The overlay keeps the base untouched; each machine writes to its own upper layer.
    def _mount(self):
        if os.path.exists(self.dir):
            self._unmount()
            shutil.rmtree(self.dir)
        for sub in ("upper", "work", "root"):
            os.makedirs(os.path.join(self.dir, sub))
        subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                        f"lowerdir={self.base},upperdir={self.dir}/upper,workdir={self.dir}/work", self.root],
                       check=True, capture_output=True, text=True)
        self.mounted = True
        # The base forbids starting services while packages go in (policy-rc.d); a real host does not.
        policy = os.path.join(self.root, "usr/sbin/policy-rc.d")
        if os.path.lexists(policy):
            os.unlink(policy)

    def _unmount(self):
        if os.path.ismount(os.path.join(self.dir, "root")):
            done = subprocess.run(["umount", os.path.join(self.dir, "root")], capture_output=True, text=True)
            if done.returncode != 0:
                subprocess.run(["umount", "-l", os.path.join(self.dir, "root")], capture_output=True)
        self.mounted = False
        # site.api's CARDSHOP_API / CARDSHOP_CA_FILE for inside_api.py (its default: the API on loopback)
        self.api_env = {}

    def boot(self, timeout=120, before=None):
        """Mount the overlay, call before(self) (files to add before systemd starts), boot, wait until up."""
        self._mount()
        if before:
            before(self)
        command = ["systemd-nspawn", "-D", self.root, f"--machine={self.name}", "--boot", "--register=no",
                   "--keep-unit", "--console=passive", "--system-call-filter=bpf"]
        command += [f"--bind={path}" for path in self.binds]
        if self.netns:
            # nsenter, not `ip netns exec`: that one remounts /sys, which nspawn then cannot use.
            command = ["nsenter", f"--net=/run/netns/{self.netns}", *command, f"--network-bridge={self.bridge}"]
        elif self.private_network:
            command.append("--private-network")
        join = self._join_cgroup if self.cgroup else None
        with open(self.console, "w") as console:
            self.nspawn = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=console, stderr=console,
                                           env={**os.environ, **ENV}, start_new_session=True, preexec_fn=join)
        deadline = time.monotonic() + timeout
        while self.pid is None:
            if self.nspawn.poll() is not None:
                raise MachineError(f"{self.name}: systemd-nspawn exited {self.nspawn.returncode}: {self.tail()}")
            if time.monotonic() > deadline:
                raise MachineError(f"{self.name}: no systemd in the container after {timeout} s: {self.tail()}")
            for child in _children(self.nspawn.pid):
                try:
                    if open(f"/proc/{child}/comm").read().strip() == "systemd":
                        self.pid = child
                except OSError:
                    pass
            time.sleep(0.1)
        # systemd's private socket appears once it can take systemctl's requests.
        while not os.path.exists(f"/proc/{self.pid}/root/run/systemd/private"):
            if self.nspawn.poll() is not None or time.monotonic() > deadline:
                raise MachineError(f"{self.name}: systemd did not come up: {self.tail()}")
            time.sleep(0.1)
        state = self.wait_running(max(5, deadline - time.monotonic()))
        log.info("%s booted (%s)", self.name, state)
        return self

    def _join_cgroup(self):
        """In nspawn's process before exec: it, and all the machine starts, run in self.cgroup."""
        with open(os.path.join(self.cgroup, "cgroup.procs"), "w") as handle:
            handle.write(str(os.getpid()))

    def wait_running(self, timeout=120):
        """`systemctl is-system-running --wait`: running, or degraded (its failed units are logged)."""
        done = self.run("systemctl", "is-system-running", "--wait", check=False, timeout=timeout)
        state = done.stdout.strip()
        if state == "degraded":
            log.warning("%s degraded: %s", self.name, self.run("systemctl", "--failed", "--no-legend").stdout)
        elif state != "running":
            raise MachineError(f"{self.name}: system {state or 'not reachable'}: {done.stderr.strip()}")
        return state

    def tail(self, lines=20):
        try:
            return "".join(open(self.console, errors="replace").readlines()[-lines:])
        except OSError:
            return ""

    def run(self, *command, check=True, timeout=120, input=None):
        """Run a command inside (all its namespaces; a clean environment)."""
        if self.pid is None:
            raise MachineError(f"{self.name} is not booted")
        done = subprocess.run(["nsenter", "-t", str(self.pid), "-a", *INSIDE_ENV, *command],
                              capture_output=True, text=True, timeout=timeout, input=input)
        if check and done.returncode != 0:
            raise MachineError(f"{self.name}: {' '.join(command)} exited {done.returncode}:\n"
                               f"{done.stdout[-3000:]}{done.stderr[-3000:]}")
        return done

    def sh(self, script, **kwargs):
        return self.run("sh", "-ec", script, **kwargs)

    def path(self, inside):
        """The host's path to a file of the machine (through the overlay)."""
        return os.path.join(self.root, inside.lstrip("/"))

    def put(self, source, inside, mode=None):
        """Copy a host file into the machine."""
        target = self.path(inside)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(source, target)
        if mode is not None:
            os.chmod(target, mode)
        return inside

    def write(self, inside, text, mode=0o644):
        target = self.path(inside)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "w") as handle:
            handle.write(text)
        os.chmod(target, mode)
        return inside

    # -- systemd ------------------------------------------------------------------

    def show(self, unit, *properties):
        out = self.run("systemctl", "show", unit, "-p", ",".join(properties)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def wait_for(self, what, probe, timeout=60, interval=0.5):
        """probe()'s first true value, polled; MachineError naming `what` after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise MachineError(f"{self.name}: {what} (waited {timeout} s)")
            time.sleep(interval)

    def wait_active(self, units, timeout=120):
        """Wait until every unit is active; a failed one, or the timeout, ends the wait with the journals."""
        states = {}

        def probe():
            states.update({unit: self.show(unit, "ActiveState")["ActiveState"] for unit in units})
            failed = [unit for unit, state in states.items() if state == "failed"]
            if failed:
                raise MachineError(f"{self.name}: {failed[0]} failed:\n{self.journal(failed[0])}")
            return all(state == "active" for state in states.values())
        try:
            return self.wait_for(f"not all of {', '.join(units)} became active", probe, timeout)
        except MachineError as exc:
            late = [unit for unit, state in states.items() if state != "active"]
            raise MachineError(f"{exc}; {', '.join(f'{unit} {states[unit]}' for unit in late)}\n"
                               + "\n".join(self.journal(unit, 15) for unit in late)) from None

    def journal(self, unit, lines=40):
        return self.run("journalctl", "-u", unit, "--no-pager", "-n", str(lines), check=False).stdout

    def apt_install(self, *packages, timeout=600):
        """`apt install` (the dependencies come from the base's cache: no network needed)."""
        return self.run("apt-get", "install", "-y", "-q", "-o", "Dpkg::Options::=--force-confdef", *packages,
                        timeout=timeout)

    def installed(self, package):
        done = self.run("dpkg-query", "-W", "-f=${Status}", package, check=False)
        return "install ok installed" in done.stdout

    # -- the end ----------------------------------------------------------------------

    def _pending_jobs(self):
        """What systemd still has to do (`systemctl list-jobs`), to say why a power-off hangs."""
        try:
            return subprocess.run(["nsenter", "-t", str(self.pid), "-a", "systemctl", "list-jobs", "--no-pager"],
                                  capture_output=True, text=True, timeout=10).stdout.strip() or "(none)"
        except (OSError, subprocess.SubprocessError) as exc:
            return f"(not known: {exc})"

    def close(self, timeout=60):
        """Power off (bounded), kill what is left of the nspawn process we started, remove the overlay."""
        try:
            if self.nspawn and self.nspawn.poll() is None:
                asked = self.pid and subprocess.run(
                    ["nsenter", "-t", str(self.pid), "-a", "systemctl", "poweroff", "--no-block"],
                    capture_output=True, timeout=30).returncode == 0
                if not asked:  # nspawn halts the container cleanly on SIGTERM
                    os.kill(self.nspawn.pid, signal.SIGTERM)
                try:
                    self.nspawn.wait(timeout)
                except subprocess.TimeoutExpired:
                    log.warning("%s did not power off in %s s; killing systemd-nspawn %s; its jobs:\n%s",
                                self.name, timeout, self.nspawn.pid, self._pending_jobs())
                    os.kill(self.nspawn.pid, signal.SIGKILL)
                    self.nspawn.wait(30)
        finally:
            self.pid = None
            self._unmount()
            if os.environ.get("CARDSHOP_KEEP_MACHINES"):
                log.warning("kept %s", self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def can_boot():
    """'' when this host can boot a container (root, nspawn, overlayfs), else why not."""
    if os.geteuid() != 0:
        return "not root"
    if not shutil.which("systemd-nspawn"):
        return "systemd-nspawn missing (Debian package systemd-container)"
    if "overlay" not in open("/proc/filesystems").read():
        return "no overlayfs in this kernel"
    return ""


def status_json(machine):
    """systemctl's view of every cardshop unit, for failure messages."""
    out = machine.run("systemctl", "list-units", "--all", "--output=json", "cardshop*", "writer@*",
                      check=False).stdout
    try:
        return json.loads(out or "[]")
    except ValueError:
        return out
