"""`network`: the host's address (DHCP, or a static address, gateway and DNS) through a systemd-networkd file,
tried as `netplan try` does: applied, checked, and restored by itself unless the operator confirms in time.

    <network_dir>/10-cardshop-<interface>.network   what this writes (10-: before the distribution's files, which
                                                    networkd would otherwise match first)
    <run_dir>/network-try.json                      the try in progress: the file, what it held before, who waits
    <run_dir>/network-confirmed                     `network --confirm` (another shell) keeps the new configuration

The previous content of the file (or its absence) is kept in the try's record until the end, and put back on
rollback; the record lives under /run, so a try never outlives a reboot. A try whose process was killed is
rolled back by the next `network`.
"""

import ipaddress
import json
import os
import re
import select
import subprocess
import time

from cardshop.writer_helper.files import write_atomically

DEFAULT_DIR = "/etc/systemd/network"
TRY_FILE = "network-try.json"
CONFIRM_FILE = "network-confirmed"
ADDRESS_WAIT = 30  # seconds the new address has to appear before the try is rolled back
_INTERFACE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")  # the kernel's IFNAMSIZ, and no path or glob characters


class NetworkError(Exception):
    """`kind`: usage (an argument is wrong; the message names it), pending (another try waits), failed."""

    def __init__(self, message, kind="failed"):
        super().__init__(message)
        self.kind = kind


# -- what the operator asked ---------------------------------------------------------------------------

def settings(interface, dhcp=False, static=None, gateway=None, dns=None, sys_class_net="/sys/class/net"):
    """The checked request: {"interface", "dhcp", "address", "gateway", "dns"}; NetworkError (usage) naming
    the argument when one is wrong."""
    if not interface or not _INTERFACE.match(interface):
        raise NetworkError(f"--interface {interface!r}: not an interface name", "usage")
    if interface == "lo":
        raise NetworkError("--interface lo: the loopback, not the host's network", "usage")
    if not os.path.exists(os.path.join(sys_class_net, interface)):
        known = sorted(name for name in os.listdir(sys_class_net) if name != "lo")
        raise NetworkError(f"--interface {interface}: no such interface here (there are: {', '.join(known)})",
                           "usage")
    if dhcp == bool(static):
        raise NetworkError("one of --dhcp or --static ADDRESS/PREFIX", "usage")
    wanted = {"interface": interface, "dhcp": bool(dhcp), "address": None, "gateway": None,
              "dns": [str(server) for server in _servers(dns)]}
    if dhcp:
        if gateway:
            raise NetworkError("--gateway goes with --static (DHCP gives the gateway)", "usage")
        return wanted
    address = _address(static)
    wanted["address"] = str(address)
    if gateway:
        wanted["gateway"] = str(_gateway(gateway, address))
    return wanted


def _address(text):
    if "/" not in text:
        raise NetworkError(f"--static {text}: give the prefix length too, e.g. {text}/24", "usage")
    try:
        address = ipaddress.ip_interface(text)
    except ValueError as exc:
        raise NetworkError(f"--static {text}: {exc}", "usage") from None
    network = address.network
    if address.version == 4 and network.prefixlen < 31 and address.ip in (network.network_address,
                                                                           network.broadcast_address):
        raise NetworkError(f"--static {text}: the {'network' if address.ip == network.network_address else 'broadcast'}"
                           f" address of {network}, not a host's", "usage")
    if address.ip.is_loopback or address.ip.is_multicast or address.ip.is_unspecified:
        raise NetworkError(f"--static {text}: not an address a host can have on a network", "usage")
    return address


def _gateway(text, address):
    try:
        gateway = ipaddress.ip_address(text)
    except ValueError as exc:
        raise NetworkError(f"--gateway {text}: {exc}", "usage") from None
    if gateway.version != address.version or gateway not in address.network:
        raise NetworkError(f"--gateway {text}: not in {address.network}, the network of --static", "usage")
    if gateway == address.ip:
        raise NetworkError(f"--gateway {text}: the host's own address", "usage")
    return gateway


def _servers(text):
    servers = []
    for item in (text or "").split(","):
        if item.strip():
            try:
                servers.append(ipaddress.ip_address(item.strip()))
            except ValueError as exc:
                raise NetworkError(f"--dns {text}: {exc}", "usage") from None
    return servers


def file_name(interface):
    return f"10-cardshop-{interface}.network"


def render(wanted):
    """The .network file for `wanted` (settings())."""
    lines = ["# Written by cardshop-writer-helper network: the address of this writer host.",
             "[Match]", f"Name={wanted['interface']}", "", "[Network]"]
    if wanted["dhcp"]:
        lines.append("DHCP=yes")
    else:
        lines.append(f"Address={wanted['address']}")
        if wanted["gateway"]:
            lines.append(f"Gateway={wanted['gateway']}")
    lines += [f"DNS={server}" for server in wanted["dns"]]
    return "\n".join(lines) + "\n"


# -- the files and networkd ------------------------------------------------------------------------------

def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _put(path, text):
    """`path` holds `text` (None: no such file), replaced whole."""
    if text is None:
        _remove(path)
    else:
        write_atomically(path, text)


def networkd_runs():
    done = subprocess.run(["systemctl", "is-active", "--quiet", "systemd-networkd"], capture_output=True)
    return done.returncode == 0


def reload(interface):
    """networkd reads its files again and reconfigures `interface` (NetworkError when it cannot)."""
    for command in (["networkctl", "reload"], ["networkctl", "reconfigure", interface]):
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise NetworkError(f"{' '.join(command)}: {exc}") from None
        if done.returncode != 0:
            raise NetworkError(f"{' '.join(command)} failed: {done.stderr.strip()}")


def addresses(interface):
    """The interface's addresses as networkd reports them: [(ip_interface, config source)]."""
    done = subprocess.run(["networkctl", "--json=short", "status", interface], capture_output=True, text=True,
                          timeout=30)
    if done.returncode != 0:
        return []
    found = []
    for item in json.loads(done.stdout).get("Addresses") or []:
        try:
            ip = ipaddress.ip_address(bytes(item["Address"]))
            found.append((ipaddress.ip_interface(f"{ip}/{item['PrefixLength']}"), item.get("ConfigSource")))
        except (KeyError, TypeError, ValueError):
            continue
    return found


def has_address(wanted):
    """The address `wanted` asks for is on its interface (for DHCP: an IPv4 address DHCP gave)."""
    found = addresses(wanted["interface"])
    if wanted["dhcp"]:
        return any(source == "DHCPv4" for _, source in found)
    return any(str(address) == wanted["address"] for address, _ in found)


# -- the try ---------------------------------------------------------------------------------------------

class Try:
    """One change of the file at `path`, kept or rolled back; its record in `run_dir` while it waits."""

    def __init__(self, path, run_dir):
        self.path = path
        self.record = os.path.join(run_dir, TRY_FILE)
        self.confirmed_marker = os.path.join(run_dir, CONFIRM_FILE)
        self.previous = None

    def pending(self):
        """The record of a try in progress, or None."""
        text = _read(self.record)
        return json.loads(text) if text else None

    def begin(self, text):
        """Keep what the file holds now, write `text`; NetworkError (pending) when another try waits."""
        record = self.pending()
        if record and _alive(record["pid"]):
            raise NetworkError(f"another network change (pid {record['pid']}) waits for its confirmation: "
                               "`cardshop-writer-helper network --confirm` keeps it", "pending")
        if record:  # its process was killed: what it changed goes back first
            _put(record["path"], record["previous"])
        self.previous = _read(self.path)
        os.makedirs(os.path.dirname(self.record), exist_ok=True)
        _put(self.record, json.dumps({"path": self.path, "previous": self.previous, "pid": os.getpid(),
                                      "started": time.time()}))
        _remove(self.confirmed_marker)
        _put(self.path, text)

    def confirmed(self):
        return os.path.exists(self.confirmed_marker)

    def keep(self):
        _remove(self.record)
        _remove(self.confirmed_marker)

    def roll_back(self):
        _put(self.path, self.previous)
        _remove(self.record)
        _remove(self.confirmed_marker)


def confirm(run_dir):
    """`network --confirm`: the waiting try keeps its configuration; False when none waits."""
    record = _read(os.path.join(run_dir, TRY_FILE))
    if not record or not _alive(json.loads(record)["pid"]):
        return False
    _put(os.path.join(run_dir, CONFIRM_FILE), f"{os.getpid()}\n")
    return True


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def wait_for_answer(attempt, timeout, answers=None):
    """Until the operator keeps the change: True when they type yes on `answers` (a terminal's fd) or run
    `network --confirm`; False when `timeout` seconds pass, or they answer anything else."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if attempt.confirmed():
            return True
        if answers is None:
            time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            continue
        ready, _, _ = select.select([answers], [], [], min(0.2, max(0.0, deadline - time.monotonic())))
        if ready:
            typed = os.read(answers, 1024)
            if typed:
                return typed.decode(errors="replace").strip().lower() in ("y", "yes")
            answers = None  # the terminal is gone (end of input): --confirm or the deadline decides
    return attempt.confirmed()


def apply(wanted, network_dir, run_dir, timeout, check, say, answers=None):
    """Write and apply `wanted`, wait for its address, `check()` (a list of check results, or None when
    there is nothing to check), then wait up to `timeout` s for the operator; keep it or put the previous
    file back. Returns {"result": "kept" | "rolled_back", "reason", "file", "address_seen", "checks"}."""
    if not networkd_runs():
        raise NetworkError("systemd-networkd does not run on this host: it is what applies the address "
                           "(`systemctl enable --now systemd-networkd`, with the interface left out of "
                           "/etc/network/interfaces)")
    path = os.path.join(network_dir, file_name(wanted["interface"]))
    attempt = Try(path, run_dir)
    attempt.begin(render(wanted))
    outcome = {"file": path, "address_seen": False, "checks": None}
    try:
        reload(wanted["interface"])
        say(f"wrote {path}; networkd applies it to {wanted['interface']}")
        deadline = time.monotonic() + ADDRESS_WAIT
        while not has_address(wanted):
            if time.monotonic() > deadline:
                return _undo(attempt, wanted, outcome, f"the address did not appear within {ADDRESS_WAIT} s")
            time.sleep(0.5)
        outcome["address_seen"] = True
        outcome["checks"] = check()
        say(f"keep it? type yes within {timeout:g} s (or run `cardshop-writer-helper network --confirm`); "
            "anything else, or nothing, puts the previous configuration back")
        if wait_for_answer(attempt, timeout, answers):
            attempt.keep()
            return {**outcome, "result": "kept", "reason": "confirmed"}
        return _undo(attempt, wanted, outcome, f"not confirmed (no yes within {timeout:g} s)")
    except BaseException:  # Ctrl-C, SIGTERM, a failed reload: the previous configuration comes back
        _undo(attempt, wanted, outcome, "interrupted")
        raise


def _undo(attempt, wanted, outcome, reason):
    attempt.roll_back()
    reload(wanted["interface"])
    return {**outcome, "result": "rolled_back", "reason": reason}
