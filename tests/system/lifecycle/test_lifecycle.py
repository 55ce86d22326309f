"""The packages' life on one booted Debian 13: upgrade from the previous version, remove, purge.

The previous version is Cardshop 0.1 on FerretDB 1.24 with SQLite (tests/system/prepare.sh builds
it from the commit before the engine change): the upgrade moves its orders to FerretDB 2 on
PostgreSQL with DocumentDB the way docs/operations/database-migration.md tells an admin to.
Tests run in file order on one machine: the upgrade's system is the one removed and purged.
"""

import json
import os

import pytest

from tests.system import machine as machines
from tests.system import site
from tests.system.conftest import debs_in

PREV_DEBS = "/root/debs-prev"
PREV_PACKAGES = ["python3-cardshop", "ferretdb", "cardshop-scheduler", "cardshop-warehouse"]  # ferretdb 1.24
PACKAGES = ["python3-cardshop", *site.DATABASE_PACKAGES, "cardshop-scheduler", "cardshop-warehouse"]
GENERATED = ["jwt.key", "system.password", "broker.password"]  # by cardshop-scheduler's postinst
# An image the previous warehouse (user cardshop, the one-user layout) holds.
KEPT_IMAGE = "/var/lib/cardshop/warehouse/main/kept.img.zst"
ORDERS = 6
OLD_DATABASE = "/var/lib/ferretdb/cardshop.sqlite"  # FerretDB 1.24's file of the database cardshop


@pytest.fixture(scope="module")
def previous():
    folder = os.environ.get("CARDSHOP_PREV_DEBS") or os.path.join(machines.VAR, "debs-prev")
    found = debs_in(folder)
    if "cardshop-scheduler" not in found:
        pytest.fail(f"no previous-version .debs in {folder}: tests/system/prepare.sh builds them "
                    "(the engine change's parent commit, as 0.1.0-0~prev)")
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


def order_summary(order):
    """What the API says of an order that nothing works on: the same before and after the move."""
    return {key: order.get(key) for key in ("_id", "status", "statuses", "sd_card", "quantity", "recipe", "recipient",
                                            "created_by", "created_at")}


def test_the_previous_version_runs_on_ferretdb_1_24_with_an_edited_config_and_orders(host, previous, state):
    site.apt_install_files(host, previous, PREV_PACKAGES, PREV_DEBS)
    assert version(host, "cardshop-scheduler") == deb_version(previous["cardshop-scheduler"])
    assert version(host, "ferretdb").startswith("1.24."), version(host, "ferretdb")
    host.run("systemctl", "enable", "--now", "ferretdb.service")
    site.secret(host, "admin.password", group="cardshop")  # the one-user layout: every daemon's group
    host.sh(f"install -d -o cardshop -g cardshop -m 0750 /var/lib/cardshop/warehouse $(dirname {KEPT_IMAGE})"
            f" && echo image > {KEPT_IMAGE} && chown cardshop:cardshop {KEPT_IMAGE}")
    site.edit_config(host, "scheduler", {
        "bootstrap_admin": {"username": "admin", "email": "admin@cardshop.invalid",
                            "password_file": f"{site.SECRETS}/admin.password"},
        "api": {"threads": 5}})  # the admin's edit, to be kept
    host.run("systemctl", "start", "cardshop-scheduler.service", timeout=300)
    ftp = "ftp://127.0.0.1:2121/"  # recorded only: no warehouse daemon runs here
    site.ok(site.api(host, "POST", "/warehouses", {"name": "main", "upload_url": ftp, "download_url": ftp,
                                                  "default": True}))
    orders = []
    for number in range(ORDERS):
        order = site.ok(site.api(host, "POST", "/orders", {
            "recipe": {"output": {"size": "auto"}, "files": [{"to": "/data/a.txt", "content": f"kept {number}"}]},
            "sd_card": {"size": 1, "type": "download"}, "quantity": 1,
            "recipient": {"name": "Ada Lovelace", "email": "ada@example.org", "address": "-"}}))
        orders.append(order_summary(site.ok(site.api(host, "GET", f"/orders/{order['_id']}"))))
    state["orders"] = orders
    assert os.path.exists(host.path("/var/lib/private/ferretdb/cardshop.sqlite"))


def test_upgrading_moves_every_order_to_the_new_engine_and_keeps_the_config_and_the_old_files(host, debs, state):
    # docs/operations/database-migration.md, step by step.
    host.run("systemctl", "stop", "cardshop-scheduler", "cardshop-monitor", "cardshop-beat", timeout=120)
    host.run("systemctl", "stop", "ferretdb", timeout=120)
    site.apt_install_files(host, debs, PACKAGES, keep_config=True)
    assert version(host, "cardshop-scheduler") == deb_version(debs["cardshop-scheduler"])
    assert version(host, "ferretdb") == deb_version(debs["ferretdb"])
    config = open(host.path("/etc/cardshop/scheduler.yaml")).read()
    assert "threads: 5" in config, config
    # The one-user layout's secrets (root:cardshop, every daemon's) went to their readers' groups.
    owners = {name: host.run("stat", "-c", "%U:%G %a", f"{site.SECRETS}/{name}").stdout.strip()
              for name in [*GENERATED, "admin.password"]}
    assert owners == {"jwt.key": "root:cardshop-scheduler 640", "system.password": "root:cardshop-system 640",
                      "broker.password": "root:cardshop-system 640",
                      "admin.password": "root:cardshop-scheduler 640"}, owners
    # The warehouse's storage becomes its own user's when it starts (StateDirectory=), and it serves on.
    site.edit_config(host, "warehouse", {"storage": {"reserve_bytes": 0}})
    host.run("systemctl", "start", "cardshop-warehouse.service", timeout=120)
    host.wait_active(["cardshop-warehouse.service"], timeout=120)
    assert host.run("stat", "-c", "%U:%G", KEPT_IMAGE).stdout.strip() == "cardshop-warehouse:cardshop-warehouse"
    assert host.show("cardshop-warehouse", "User")["User"] == "cardshop-warehouse"
    print(site.setup_database(host))
    site.use_database_roles(host)

    done = host.run("cardshop-admin", "migrate-database", "--json", timeout=900, check=False)
    report = json.loads(done.stdout)
    assert done.returncode == 0 and report["ok"], done.stdout[-3000:] + done.stderr[-3000:]
    counts = {item["name"]: item["documents"] for item in report["collections"]}
    assert counts["orders"] == ORDERS, counts
    print(f"figure: migrate-database {report['documents']} documents in {report['seconds']} s")
    again = host.run("cardshop-admin", "migrate-database", check=False, timeout=300)
    assert again.returncode == 10, f"a second migration was not refused: {again.stdout}{again.stderr}"

    host.run("systemctl", "start", "cardshop-scheduler.service", timeout=300)
    host.wait_active(["cardshop-scheduler.service"], timeout=120)
    assert host.show("cardshop-scheduler", "User")["User"] == "cardshop-scheduler"
    for before in state["orders"]:
        after = site.ok(site.api(host, "GET", f"/orders/{before['_id']}"))
        assert order_summary(after) == before
    listed = site.ok(site.api(host, "GET", "/orders"))
    assert listed["next"] is None and sorted(order["_id"] for order in listed["items"]) == sorted(
        order["_id"] for order in state["orders"]), listed
    # The migrated database has no status counters yet: the first count makes them.
    assert site.ok(site.api(host, "GET", "/stats/orders"))["total"] == ORDERS
    new = site.ok(site.api(host, "POST", "/orders", {
        "recipe": {"output": {"size": "auto"}, "files": [{"to": "/data/b.txt", "content": "new engine"}]},
        "sd_card": {"size": 1, "type": "download"}, "quantity": 1,
        "recipient": {"name": "Ada Lovelace", "email": "ada@example.org", "address": "-"}}))
    assert site.ok(site.api(host, "GET", f"/orders/{new['_id']}"))["_id"] == new["_id"]
    # The old files stay until the admin deletes them.
    for path in report["old_files"]:
        assert host.run("test", "-s", path, check=False).returncode == 0, f"{path} is gone"
    assert host.run("test", "-s", OLD_DATABASE, check=False).returncode == 0


BACKUP = "/var/backups/cardshop-database/manual"
DATA = "/var/lib/postgresql/17/main"


def test_a_pg_basebackup_restored_as_the_database_role_readme_says_brings_back_every_order(host, state):
    # ansible/roles/cardshop_database/README.md, "Backups": the backup, then the restore.
    host.sh(f"install -d -o postgres -g postgres -m 0700 {os.path.dirname(BACKUP)}"
            f" && runuser -u postgres -- env PGCLUSTER=17/main pg_basebackup --pgdata={BACKUP}"
            " --format=tar --gzip --checkpoint=fast", timeout=300)
    later = site.ok(site.api(host, "POST", "/orders", {
        "recipe": {"output": {"size": "auto"}, "files": [{"to": "/data/c.txt", "content": "after the backup"}]},
        "sd_card": {"size": 1, "type": "download"}, "quantity": 1,
        "recipient": {"name": "Ada Lovelace", "email": "ada@example.org", "address": "-"}}))
    host.sh(f"""
        systemctl stop cardshop.target ferretdb postgresql@17-main
        mv {DATA} {DATA}.before
        install -d -o postgres -g postgres -m 0700 {DATA} {DATA}/pg_wal
        runuser -u postgres -- tar -xzf {BACKUP}/base.tar.gz -C {DATA}
        runuser -u postgres -- tar -xzf {BACKUP}/pg_wal.tar.gz -C {DATA}/pg_wal
        systemctl start postgresql@17-main ferretdb && cardshop-database-setup --check
        systemctl start cardshop-scheduler""", timeout=300)
    host.wait_active(["cardshop-scheduler.service"], timeout=120)
    listed = site.ok(site.api(host, "GET", "/orders?per_page=200"))
    held = {order["_id"] for order in listed["items"]}
    assert {order["_id"] for order in state["orders"]} <= held, listed
    assert later["_id"] not in held, "the order placed after the backup came back"
    assert len(held) == ORDERS + 1 and listed["next"] is None  # and the one the upgrade test placed


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
