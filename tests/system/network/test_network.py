"""`cardshop-writer-helper network` in a booted Debian 13 machine on a private network: applied through
systemd-networkd, kept when confirmed, rolled back by itself when not."""

import json
import os
import subprocess
import sys
import time

import pytest
import yaml

from tests.system import machine as machines
from tests.system import site
from tests.system.fleet.control import NETWORK, Network

HELPER = ["cardshop-writer-helper"]  # as installed by cardshop-writer
FILE = "/etc/systemd/network/10-cardshop-host0.network"


@pytest.fixture(scope="module")
def host(base, debs):
    with Network(f"csnet{os.getpid() % 100000}") as network:
        with machines.Machine(f"netstep-{os.getpid()}", netns=network.name, bridge=network.bridge) as machine:
            machine.boot()
            site.copy_debs(machine, debs)
            site.apt_install_files(machine, debs, ["python3-cardshop", "cardshop-writer"])
            machine.run("systemctl", "enable", "--now", "systemd-networkd")
            machine.network = network
            yield machine


def addresses(machine):
    status = json.loads(machine.run("networkctl", "--json=short", "status", "host0").stdout)
    return {".".join(map(str, item["Address"])) for item in status.get("Addresses") or [] if item.get("Family") == 2}


PROBE = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], 9), timeout=2).close()
except ConnectionRefusedError:  # the host answered (nothing listens on port 9): it is there
    pass
"""


def reachable(machine, address):
    """The control node reaches `address` over the private network (a TCP SYN answered, even by a refusal)."""
    return subprocess.run(machine.network.command(sys.executable, "-c", PROBE, address),
                          capture_output=True).returncode == 0


def test_a_confirmed_static_address_is_applied_and_kept(host):
    inside = ["nsenter", "-t", str(host.pid), "-a", *machines.INSIDE_ENV, *HELPER]
    trying = subprocess.Popen([*inside, "network", "--interface", "host0", "--static", f"{NETWORK}.50/24",
                               "--gateway", f"{NETWORK}.1", "--dns", f"{NETWORK}.1", "--json"],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        host.wait_for("the address applied", lambda: f"{NETWORK}.50" in addresses(host), timeout=60)
        host.wait_for("the address reachable", lambda: reachable(host, f"{NETWORK}.50"), timeout=30)
        assert host.run(*HELPER, "network", "--confirm").returncode == 0
        out, err = trying.communicate(timeout=60)
    finally:
        trying.kill()
    assert trying.returncode == 0, err
    outcome = json.loads(out)
    assert (outcome["result"], outcome["address_seen"], outcome["checks"]) == ("kept", True, None)
    assert "no /etc/cardshop/writer.yaml yet: nothing to check" in err
    assert host.run("cat", FILE).stdout.splitlines()[1:] == [
        "[Match]", "Name=host0", "", "[Network]", f"Address={NETWORK}.50/24", f"Gateway={NETWORK}.1",
        f"DNS={NETWORK}.1"]
    time.sleep(2)
    assert f"{NETWORK}.50" in addresses(host) and reachable(host, f"{NETWORK}.50")


def test_a_change_not_confirmed_in_time_is_rolled_back_by_itself(host):
    # A configured host: its checks go over the new address, to a control node where nothing listens.
    host.write("/etc/cardshop/secrets/writer.password", "password\n", mode=0o600)
    host.write("/etc/cardshop/writer.yaml", yaml.safe_dump({
        "broker": {"url": f"amqps://{NETWORK}.1:9/cardshop", "username": "writer-net",
                   "password_file": "/etc/cardshop/secrets/writer.password"},
        "scheduler": {"api_url": f"http://{NETWORK}.1:9/"}, "warehouse": {"url": f"ftps://{NETWORK}.1:9/"}}))
    kept = host.run("cat", FILE).stdout
    started = time.monotonic()
    done = host.run(*HELPER, "network", "--interface", "host0", "--static", f"{NETWORK}.60/24",
                    "--confirm-timeout", "5", "--json", check=False, timeout=120)
    assert done.returncode == 1, done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["result"], outcome["address_seen"]) == ("rolled_back", True)
    assert outcome["reason"] == "not confirmed (no yes within 5 s)"
    assert time.monotonic() - started >= 5
    checks = {item["name"]: item for item in outcome["checks"]}
    assert [name for name in checks if not checks[name]["ok"]] == ["scheduler", "broker", "warehouse"]
    assert "refused" in checks["scheduler"]["reason"].lower(), checks  # the control node answered: routed
    assert "refused" in checks["broker"]["reason"].lower(), checks
    assert "✘ scheduler:" in done.stderr
    assert host.run("cat", FILE).stdout == kept  # the previous file is back
    host.wait_for("the new address gone", lambda: f"{NETWORK}.60" not in addresses(host), timeout=30)
    host.wait_for("the kept address back", lambda: f"{NETWORK}.50" in addresses(host), timeout=30)
    assert not reachable(host, f"{NETWORK}.60") and reachable(host, f"{NETWORK}.50")
    assert host.run("test", "-e", "/run/cardshop/network-try.json", check=False).returncode == 1


def test_a_dhcp_try_whose_address_never_comes_is_rolled_back_to_no_file(host):
    host.run("rm", "-f", FILE)
    host.run("networkctl", "reload")
    done = host.run(*HELPER, "network", "--interface", "host0", "--dhcp", "--confirm-timeout", "1",
                    check=False, timeout=120)
    # No DHCP server on this network: the address never comes, and the try goes back to no file at all.
    assert done.returncode == 1 and "rolled back (the address did not appear within 30 s)" in done.stdout
    assert host.run("test", "-e", FILE, check=False).returncode == 1
