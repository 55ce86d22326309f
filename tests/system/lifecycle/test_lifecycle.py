"""The packages' life on one booted Debian 13: upgrade from the previous version, remove, purge.

Tests run in file order on one machine: the upgrade's system is the one removed and purged.
"""

import os

import pytest

from tests.system import machine as machines
from tests.system import site
from tests.system.conftest import debs_in

PREV_DEBS = "/root/debs-prev"
PACKAGES = ["python3-cardshop", "ferretdb", "cardshop-scheduler"]
GENERATED = ["jwt.key", "system.password", "broker.password"]  # by cardshop-scheduler's postinst


@pytest.fixture(scope="module")
def previous():
    folder = os.environ.get("CARDSHOP_PREV_DEBS") or os.path.join(machines.VAR, "debs-prev")
    found = debs_in(folder)
    if "cardshop-scheduler" not in found:
        pytest.fail(f"no previous-version .debs in {folder}: tests/system/prepare.sh builds them "
                    "(make deb DEB_VERSION=0.1.0-0~prev)")
    return found


@pytest.fixture(scope="module")
def host(base, debs, previous):
    with machines.Machine(f"lifecycle-{os.getpid()}") as machine:
        machine.boot()
        site.copy_debs(machine, previous, PREV_DEBS)
        site.copy_debs(machine, debs)
        yield machine


def version(machine, package):
    return machine.run("dpkg-query", "-W", "-f=${Version}", package).stdout


def deb_version(path):
    return machines.deb_fields(path, "Version")["Version"]


def test_the_previous_version_runs_with_an_edited_config_and_an_order(host, previous, state):
    site.apt_install_files(host, previous, PACKAGES, PREV_DEBS)
    assert version(host, "cardshop-scheduler") == deb_version(previous["cardshop-scheduler"])
    host.run("systemctl", "enable", "--now", "ferretdb.service")
    site.secret(host, "admin.password")
    site.edit_config(host, "scheduler", {
        "bootstrap_admin": {"username": "admin", "email": "admin@cardshop.invalid",
                            "password_file": f"{site.SECRETS}/admin.password"},
        "api": {"threads": 5}})  # the admin's edit, to be kept
    host.run("systemctl", "start", "cardshop-scheduler.service", timeout=300)
    ftp = "ftp://127.0.0.1:2121/"  # recorded only: no warehouse daemon runs here
    site.ok(site.api(host, "POST", "/warehouses", {"name": "main", "upload_url": ftp, "download_url": ftp,
                                                  "default": True}))
    order = site.ok(site.api(host, "POST", "/orders", {
        "recipe": {"output": {"size": "auto"}, "files": [{"to": "/data/a.txt", "content": "kept"}]},
        "sd_card": {"size": 1, "type": "download"}, "quantity": 1,
        "recipient": {"name": "Ada Lovelace", "email": "ada@example.org", "address": "-"}}))
    state["order"] = order["_id"]
    state["pid"] = host.show("cardshop-scheduler", "MainPID")["MainPID"]


def test_upgrading_keeps_the_config_and_the_order_and_restarts_on_the_new_version(host, debs, state):
    site.apt_install_files(host, debs, PACKAGES)
    assert version(host, "cardshop-scheduler") == deb_version(debs["cardshop-scheduler"])
    config = open(host.path("/etc/cardshop/scheduler.yaml")).read()
    assert "threads: 5" in config, config
    host.wait_active(["cardshop-scheduler.service"], timeout=120)
    now = host.show("cardshop-scheduler", "MainPID")["MainPID"]
    assert now != state["pid"], "the scheduler was not restarted on upgrade"
    order = site.ok(site.api(host, "GET", f"/orders/{state['order']}"))
    assert order["_id"] == state["order"]


def test_apt_remove_stops_the_units(host):
    assert host.show("cardshop-scheduler", "ActiveState")["ActiveState"] == "active"
    host.run("apt-get", "remove", "-y", "-q", "cardshop-scheduler", timeout=300)
    state = host.show("cardshop-scheduler", "ActiveState", "LoadState")
    assert state["ActiveState"] in ("inactive", "failed") or state["LoadState"] == "not-found", state
    assert os.path.exists(host.path("/etc/cardshop/scheduler.yaml")), "remove must keep the config"


def test_apt_purge_removes_config_generated_secrets_and_state(host):
    state_dir = host.path("/var/lib/cardshop/scheduler")
    host.run("apt-get", "purge", "-y", "-q", "cardshop-scheduler", timeout=300)
    left = [path for path in ["/etc/cardshop/scheduler.yaml", *(f"{site.SECRETS}/{name}" for name in GENERATED)]
            if os.path.lexists(host.path(path))]
    assert left == [], f"apt purge left {left}"
    assert not os.path.exists(state_dir)
    assert os.path.exists(host.path(f"{site.SECRETS}/admin.password")), "purge removed a secret the admin made"
