"""The fleet test's control node: booted Debian 13 hosts on a private network, and ansible-playbook.

The hosts are Machines (tests/system/machine.py) over a base root that also
has an SSH server and python3-apt (what Ansible's modules need), each with a
veth on one bridge of a network namespace made for the run; the control node
(this process, through `ip netns exec`) has the bridge's address and reaches
them over SSH with a key and host keys made for the run, checked strictly.
The inventory, the vault (encrypted with a password made for the run), the
fleet's PKI and each playbook's output live in the run's folder.
"""

import concurrent.futures
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import time
import xml.etree.ElementTree

import yaml

from tests.system import machine as machines

log = logging.getLogger(__name__)

ANSIBLE_DIR = os.path.join(machines.REPO, "ansible")
FLEET_BASE = os.path.join(machines.VAR, "rootfs", "fleet")
# What a host needs to be reached and driven by Ansible, beyond the base root.
FLEET_PACKAGES = ("openssh-server", "python3-apt")
POWER_OFF_WAIT = 20  # seconds before a fleet machine that does not power off is killed
NETWORK = "10.231.0"  # /24 of the private bridge; .1 is the control node
LOGS = os.path.join(machines.VAR, "test-output", "fleet")  # the last run's playbook logs
RECAP = re.compile(r"^(\S+)\s*:\s*((?:\w+=\d+\s*)+)$")


class FleetError(Exception):
    """The fleet could not be made, reached or deployed."""


def ensure_fleet_base(debs):
    """The system base root plus an SSH server and python3-apt, networkd and sshd enabled; remade when
    the system base changes. The host keys are removed: each host makes its own."""
    base = machines.ensure_base(debs)
    source_stamp = os.path.join(machines.VAR, "rootfs", "system.downloaded")
    stamp = os.path.join(FLEET_BASE, ".cardshop-fleet")
    if os.path.exists(stamp) and os.path.getmtime(stamp) >= os.path.getmtime(source_stamp):
        return FLEET_BASE
    log.info("making the fleet's base root %s", FLEET_BASE)
    building = FLEET_BASE + ".new"
    shutil.rmtree(building, ignore_errors=True)
    subprocess.run(["cp", "-a", "--reflink=auto", base, building], check=True, timeout=900)
    machines.in_root("apt-get install -y -q " + " ".join(FLEET_PACKAGES)
                     + " && systemctl enable systemd-networkd.service ssh.service"
                     + " && rm -f /etc/ssh/ssh_host_*", root=building)
    open(os.path.join(building, ".cardshop-fleet"), "w").close()
    shutil.rmtree(FLEET_BASE, ignore_errors=True)
    os.rename(building, FLEET_BASE)
    return FLEET_BASE


def _run(*command, timeout=60):
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise FleetError(f"{' '.join(command)}: {done.stderr.strip() or done.returncode}")
    return done.stdout


class Network:
    """A network namespace with a bridge: the fleet's private LAN, the control node at .1."""

    def __init__(self, name, bridge="br0"):
        self.name, self.bridge = name, bridge

    def __enter__(self):
        if os.path.exists(f"/run/netns/{self.name}"):
            _run("ip", "netns", "delete", self.name)
        _run("ip", "netns", "add", self.name)
        _run("ip", "-n", self.name, "link", "set", "lo", "up")
        _run("ip", "-n", self.name, "link", "add", self.bridge, "type", "bridge")
        _run("ip", "-n", self.name, "addr", "add", f"{NETWORK}.1/24", "dev", self.bridge)
        _run("ip", "-n", self.name, "link", "set", self.bridge, "up")
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "delete", self.name], capture_output=True)

    def command(self, *command):
        """`command` run on the control node's side of the fleet's network."""
        return ["ip", "netns", "exec", self.name, *command]


class SlowCards:
    """A cgroup v1 blkio folder whose write limit makes a loop device's card slow (a write that lasts)."""

    ROOT = "/sys/fs/cgroup/blkio"

    def __init__(self, name):
        self.path = os.path.join(self.ROOT, name)

    @classmethod
    def available(cls):
        return os.path.exists(os.path.join(cls.ROOT, "blkio.throttle.write_bps_device"))

    def __enter__(self):
        os.makedirs(self.path, exist_ok=True)
        return self

    def limit(self, device, bytes_per_second):
        """Writes to `device` from the machines in this cgroup at most this fast (0: no limit)."""
        rdev = os.stat(device).st_rdev
        with open(os.path.join(self.path, "blkio.throttle.write_bps_device"), "w") as handle:
            handle.write(f"{os.major(rdev)}:{os.minor(rdev)} {bytes_per_second}")

    def __exit__(self, *exc):
        deadline = time.monotonic() + 30  # empty once its machines' last processes are reaped
        while True:
            try:
                os.rmdir(self.path)
                return
            except OSError as error:
                if time.monotonic() > deadline:
                    log.warning("cgroup %s left: %s", self.path, error)
                    return
                time.sleep(0.5)


class Host:
    """One fleet host: a booted Machine at NETWORK.<number>, reachable over SSH as root with the run's key."""

    def __init__(self, fleet, name, number, **machine_options):
        self.name = f"{name}.fleet.test"  # its inventory name
        self.address = f"{NETWORK}.{number}"
        self.fleet = fleet
        self.machine = machines.Machine(f"fleet-{name}-{os.getpid()}", base=FLEET_BASE, private_network=False,
                                        netns=fleet.network.name, bridge=fleet.network.bridge, **machine_options)

    def _prepare(self, machine):
        """Before boot: a static address on host0, the control node's key, the host's own SSH keys."""
        machine.write("/etc/systemd/network/10-fleet.network",
                      f"[Match]\nName=host0\n\n[Network]\nAddress={self.address}/24\nLinkLocalAddressing=no\n")
        # root's user manager kept from boot (linger): in these containers stopping it hangs until
        # systemd gives up (2 min), and an SSH login arriving meanwhile waited for that.
        machine.write("/var/lib/systemd/linger/root", "")
        os.makedirs(machine.path("/root/.ssh"), mode=0o700, exist_ok=True)
        machine.write("/root/.ssh/authorized_keys", open(self.fleet.key + ".pub").read(), mode=0o600)
        _run("ssh-keygen", "-A", "-f", machine.root)
        with open(self.fleet.known_hosts, "a") as handle:
            for key in ("ed25519", "ecdsa", "rsa"):
                kind, blob = open(machine.path(f"/etc/ssh/ssh_host_{key}_key.pub")).read().split()[:2]
                handle.write(f"{self.address} {kind} {blob}\n")

    def boot(self):
        self.machine.boot(before=self._prepare)
        self.machine.wait_for(f"{self.name}: sshd did not listen", lambda: self.fleet.ssh_ok(self), timeout=60)
        return self


class Run:
    """One ansible-playbook run: its output, its PLAY RECAP per host, how long it took."""

    def __init__(self, title, command, output, returncode, seconds):
        self.title, self.command, self.output = title, command, output
        self.returncode, self.seconds = returncode, seconds
        self.leaked = 0  # how many of the vault's secrets the output shows (Fleet.leaks)
        self.recap = {}
        self.recap_section = "PLAY RECAP" + output.split("PLAY RECAP", 1)[1].rstrip() if "PLAY RECAP" in output else ""
        for line in self.recap_section.splitlines()[1:]:
            match = RECAP.match(line.strip())
            if match:
                self.recap[match.group(1)] = {key: int(value) for key, value in
                                              re.findall(r"(\w+)=(\d+)", match.group(2))}

    def recap_text(self):
        return self.recap_section or "(no PLAY RECAP)"

    def total(self, key):
        return sum(counts.get(key, 0) for counts in self.recap.values())

    def check(self):
        """FleetError unless every host ran without failure or unreachability and no secret showed."""
        if self.returncode != 0 or not self.recap or self.total("failed") or self.total("unreachable"):
            raise FleetError(f"{self.title}: ansible-playbook exited {self.returncode}\n{self.output[-6000:]}")
        if self.leaked:
            raise FleetError(f"{self.title}: the output shows {self.leaked} of the vault's secrets")
        return self


def slowest_tasks(folder, count=3):
    """[(seconds, task)] of the `count` slowest tasks in the junit files of Ansible's junit callback."""
    found = []
    for name in os.listdir(folder) if os.path.isdir(folder) else ():
        try:
            tree = xml.etree.ElementTree.parse(os.path.join(folder, name))
        except (OSError, xml.etree.ElementTree.ParseError):
            continue
        for case in tree.iter("testcase"):
            try:
                # "[host] play: role : task args": the play's name out, the args cut short
                name = re.sub(r"^(\[[^\]]+\]) [^:]*: ", r"\1 ", case.get("name", "?"))
                found.append((float(case.get("time", 0)), name[:90]))
            except ValueError:
                pass
    return sorted(found, reverse=True)[:count]


class Fleet:
    """The run's folder (key, known hosts, inventory, vault, PKI, logs), its network and its hosts."""

    def __init__(self, ansible_bin, debs_dir):
        self.dir = os.path.join(machines.VAR, f"fleet-{os.getpid()}")
        self.ansible_bin, self.debs_dir = ansible_bin, debs_dir
        self.network = Network(f"cs-fleet-{os.getpid()}")
        self.key = os.path.join(self.dir, "ssh", "id_ed25519")
        self.known_hosts = os.path.join(self.dir, "ssh", "known_hosts")
        self.inventory = os.path.join(self.dir, "inventory")
        self.vault_password_file = os.path.join(self.dir, "vault-password")
        self.hosts = {}
        self.runs = []
        self.vault = {}
        self.secrets_held = set()  # every secret the vault has held in this run: none may show in an output

    def __enter__(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(os.path.dirname(self.key), mode=0o700)
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cardshop-fleet-test", "-f", self.key)
        open(self.known_hosts, "w").close()
        self.network.__enter__()
        return self

    def __exit__(self, *exc):
        try:
            # Side by side, and not for long: root's user manager (the SSH logins') has been seen holding a
            # power-off for more than a minute, and these machines are thrown away.
            with concurrent.futures.ThreadPoolExecutor(max(1, len(self.hosts))) as pool:
                for done in [pool.submit(host.machine.close, POWER_OFF_WAIT) for host in self.hosts.values()]:
                    done.result()
        finally:
            self.network.__exit__()
            # The playbooks' whole output outlives the run, for a look after a failure.
            shutil.rmtree(LOGS, ignore_errors=True)
            os.makedirs(LOGS)
            for name in os.listdir(self.dir):
                if name.startswith("run-") and name.endswith(".log"):
                    shutil.copy(os.path.join(self.dir, name), LOGS)
            if os.environ.get("CARDSHOP_KEEP_MACHINES"):
                log.warning("kept %s", self.dir)
            else:
                shutil.rmtree(self.dir, ignore_errors=True)

    def add(self, name, number, **machine_options):
        self.hosts[name] = Host(self, name, number, **machine_options)
        return self.hosts[name]

    def host_key_options(self):
        """Only the hosts' own keys, as written in the run's known_hosts, are accepted."""
        return ["-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes"]

    def ssh_options(self):
        return ["-i", self.key, *self.host_key_options(), "-o", "BatchMode=yes", "-o", "ConnectTimeout=5"]

    def ssh_ok(self, host):
        done = subprocess.run(self.network.command("ssh", *self.ssh_options(), f"root@{host.address}", "true"),
                              capture_output=True, text=True, timeout=30)
        return done.returncode == 0

    # -- the inventory -------------------------------------------------------------

    def write_inventory(self, hosts, host_vars, settings):
        """hosts.yml (groups -> {host: vars}), host_vars/ and group_vars/all/main.yml (the vault: write_vault)."""
        groups = {group: {"hosts": {name: dict(values or {}) for name, values in members.items()}}
                  for group, members in hosts.items()}
        connection = {"ansible_user": "root", "ansible_ssh_private_key_file": self.key,
                      "ansible_ssh_common_args": " ".join(self.host_key_options())}
        self._yaml("hosts.yml", {"all": {"vars": connection, "children": groups}})
        for name, values in host_vars.items():
            self._yaml(f"host_vars/{name}.yml", values)
        example = yaml.safe_load(open(os.path.join(ANSIBLE_DIR, "inventory/example/group_vars/all/main.yml")))
        self._yaml("group_vars/all/main.yml", {**example, "cardshop_common_debs_dir": self.debs_dir, **settings})

    def write_vault(self, workers=(), rotate=()):
        """group_vars/all/vault.yml, encrypted with ansible-vault (its password made once per run):
        new secrets for the admin, the system user and `workers` the first time; after that, new
        passwords for the workers in `rotate`, the other secrets kept."""
        def new():
            value = secrets.token_urlsafe(32)
            self.secrets_held.add(value)
            return value
        if not self.vault:
            with open(os.open(self.vault_password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
                out.write(new() + "\n")
            self.vault = {"vault_cardshop_admin_password": new(), "vault_cardshop_system_password": new(),
                          "vault_cardshop_jwt_key": new() + new(), "vault_cardshop_manager_session_key": new() + new(),
                          "vault_cardshop_worker_passwords": {worker: new() for worker in workers}}
        for worker in rotate:
            self.vault["vault_cardshop_worker_passwords"][worker] = new()
        path = self._yaml("group_vars/all/vault.yml", self.vault)
        _run(os.path.join(self.ansible_bin, "ansible-vault"), "encrypt", "--vault-password-file",
             self.vault_password_file, path)

    def leaks(self, run):
        """How many of the vault's secrets `run`'s output shows (0 expected), without saying which."""
        return sum(1 for value in self.secrets_held if value in run.output)

    def _yaml(self, relative, data):
        path = os.path.join(self.inventory, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            yaml.safe_dump(data, handle, sort_keys=False)
        return path

    # -- ansible-playbook ------------------------------------------------------------

    def playbook(self, title, playbook, *args, timeout=1800):
        """Run `ansible-playbook PLAYBOOK ARGS` from ansible/ on the fleet's network; its output is kept
        in the run's folder and its PLAY RECAP printed."""
        command = [os.path.join(self.ansible_bin, "ansible-playbook"), "-i", os.path.join(self.inventory, "hosts.yml"),
                   "--vault-password-file", self.vault_password_file, playbook, *args]
        env = {**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
               "ANSIBLE_HOME": os.path.join(self.dir, "ansible-home"),  # its SSH sockets and temp files
               "PATH": self.ansible_bin + os.pathsep + os.environ.get("PATH", "")}
        number = len(self.runs) + 1
        log_path = os.path.join(self.dir, f"run-{number}.log")
        # Ansible's junit callback times each task: the slowest are printed with the recap.
        timings = os.path.join(self.dir, f"run-{number}-tasks")
        env.update({"ANSIBLE_CALLBACKS_ENABLED": "ansible.builtin.junit", "JUNIT_OUTPUT_DIR": timings})
        started = time.monotonic()
        with open(log_path, "w+") as handle:  # written as it goes: `tail -f` it to follow a run
            handle.write(f"$ {' '.join(command)}\n")
            handle.flush()
            done = subprocess.run(self.network.command(*command), cwd=ANSIBLE_DIR, env=env, stdout=handle,
                                  stderr=subprocess.STDOUT, timeout=timeout)
            handle.seek(0)
            output = handle.read().split("\n", 1)[1]
        run = Run(title, command, output, done.returncode, time.monotonic() - started)
        run.leaked = self.leaks(run)
        self.runs.append(run)
        slowest = ", ".join(f"{seconds:.0f} s {task}" for seconds, task in slowest_tasks(timings))
        print(f"\n== {title}: `ansible-playbook {' '.join([playbook, *args])}` "
              f"({run.seconds:.0f} s, exit {run.returncode})\n{run.recap_text()}\nslowest tasks: {slowest or '?'}",
              flush=True)
        return run

    def figures(self):
        return [{"run": run.title, "seconds": round(run.seconds, 1), "changed": run.total("changed"),
                 "failed": run.total("failed")} for run in self.runs]

    def save_figures(self, path):
        """The runs' figures as JSON, for `make bench` (bench/fleet.py)."""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            json.dump({"at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "runs": self.figures()}, handle,
                      indent=1)
