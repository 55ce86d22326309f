"""One booted Debian 13 system holding every role: a writer host set up as an admin types it, then the
whole pipeline (order -> image -> two cards on loop devices, written and verified), a writer killed
mid-write, the watchdog, and stopping cardshop.target. The tests run in file order on one machine."""

import os
import subprocess
import time

import pytest
import yaml

from devstack import cards
from devstack.demo import first_bytes_sha256
from tests.system import machine as machines
from tests.system import site


@pytest.fixture(scope="module")
def central(base, debs, readers):
    with machines.Machine(f"central-{os.getpid()}", binds=readers) as machine:
        machine.boot()
        site.copy_debs(machine, debs)
        yield machine


# -- (a) a fresh writer host, as its admin types it -------------------------------------------------

def test_the_writer_package_installs_without_web_or_database_libraries(central, debs):
    site.apt_install_files(central, debs, ["python3-cardshop", "cardshop-writer"])
    assert central.installed("cardshop-writer")
    pulled = [name for name in ("python3-bottle", "python3-waitress", "python3-pymongo") if central.installed(name)]
    assert pulled == [], f"installing cardshop-writer pulled {pulled}"


def test_the_central_roles_install_and_start_with_the_broker_asking_the_scheduler(central, debs, state):
    site.central_system(central, debs)
    # The figure: from `systemctl start cardshop.target` to every unit it pulls in active (READY).
    figure = site.start_to_ready(central)
    state["start_to_ready"] = figure
    print(f"figure: start-to-ready {figure:.1f} s")


DATABASE_PROBE = """
import sys, pymongo, pymongo.errors
uri = open(sys.argv[1]).read().strip() if len(sys.argv) > 1 else "mongodb://127.0.0.1:27017/"
client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000)
try:
    print(client.cardshop.users.count_documents({}))
except pymongo.errors.OperationFailure as exc:
    print("refused", exc.code)
"""


def test_the_database_answers_each_daemons_role_and_refuses_anyone_without_a_password(central):
    central.write("/root/database_probe.py", DATABASE_PROBE)
    anonymous = central.run("python3", "/root/database_probe.py", timeout=60).stdout.strip()
    assert anonymous.startswith("refused"), anonymous
    for daemon in site.DATABASE_DAEMONS:
        uri_file = site.database_uri_file(daemon)
        assert os.stat(central.path(uri_file)).st_mode & 0o777 == 0o640
        assert central.run("stat", "-c", "%U:%G", uri_file).stdout.strip() == f"root:cardshop-{daemon}"
        config = yaml.safe_load(open(central.path(f"/etc/cardshop/{daemon}.yaml")))
        assert config["database"]["uri_file"] == uri_file, config["database"]
        users = central.run("python3", "/root/database_probe.py", uri_file, timeout=60).stdout.strip()
        assert users.isdigit() and int(users) >= 1, f"{daemon}: {users}"  # the admin and the system user


def test_a_writer_host_is_set_up_with_the_writer_helper_exactly_as_the_readme_says(central, readers):
    password = site.secret(central, f"{site.WRITER}.password")
    central.write("/root/writer-answers.yaml", yaml.safe_dump({
        "scheduler": site.API_URL, "broker": site.BROKER_URL, "username": site.WRITER, "password": password}),
        mode=0o600)
    central.run("cardshop-writer-helper", "configure", "--from", "/root/writer-answers.yaml", timeout=60)
    for slot, device in enumerate(readers, 1):
        central.run("cardshop-writer-helper", "identify", "--slot", str(slot), "--device", device)
    central.run("cardshop-writer-helper", "register", "--login", "admin", "--password-file",
                f"{site.SECRETS}/admin.password", timeout=60)
    host = central.run("hostname").stdout.strip()
    registered = site.ok(site.api(central, "GET", f"/writer-hosts/{site.WRITER}@{host}/slots"))
    assert [slot["number"] for slot in registered["slots"]] == [1, 2], registered
    central.run("cardshop-writer-helper", "enable", timeout=120)
    central.wait_active(["writer@1.service", "writer@2.service"], timeout=120)
    status = central.run("systemctl", "status", "--no-pager", "writer@1", check=False).stdout
    assert 'Status: "slot 1: ' in status, status  # the slot's STATUS= line, e.g. "slot 1: empty, insert a card"
    journal = central.journal("writer@1")
    assert "ready: slot 1 of writer-1@" in journal, journal


# -- (b) the whole pipeline ---------------------------------------------------------------------------

def test_an_order_becomes_two_written_and_verified_cards(central, readers, state):
    recipe = site.serve_content(central)
    state["recipe"] = recipe
    order = site.place_order(central, recipe, 2)
    built = site.wait_order(central, order["_id"], ("pending_writer", "writing"), timeout=300)
    central.wait_for("the two write tasks were not made",
                     lambda: len(site.write_tasks(site.order_of(central, order["_id"]))) == 2)
    inserted = {device: cards.insert(device, site.card_folder(central), 2 * 10**9) for device in readers}
    done = site.wait_order(central, order["_id"], ("pending_shipment",), timeout=600)
    assert len(done["cards"]) == 2
    image = built["image"]
    for device, path in inserted.items():
        assert first_bytes_sha256(path, image["image_size"]) == image["sha256"], f"card in {device}"
    for device in readers:
        cards.remove(device)


# -- (f) least privilege: each daemon its own user, reading only its own secrets ----------------------

# The secrets each unit may read (the system account's are the three central daemons'); every other
# one is refused to it.
SECRETS_READ = {
    "cardshop-scheduler": {"jwt.key", "system.password", "broker.password", "admin.password",
                           "database-scheduler.uri"},
    "cardshop-monitor": {"system.password", "broker.password", "database-monitor.uri"},
    "cardshop-beat": {"system.password", "broker.password", "database-beat.uri"},
    "cardshop-manager": {"manager-session.key"},
    "cardshop-warehouse": set(),
    "cardshop-creator": {f"{site.CREATOR}.password"},
    "writer@1": {"writer.password"},
}
ALL_SECRETS = sorted(set().union(*SECRETS_READ.values()) | {f"{site.WRITER}.password"})


def running_as(machine, unit):
    """(pid, uid, gid, supplementary gids) of the unit's main process, from its /proc status."""
    pid = machine.show(unit, "MainPID")["MainPID"]
    assert pid != "0", f"{unit} is not running"
    fields = dict(line.split(":", 1) for line in machine.run("cat", f"/proc/{pid}/status").stdout.splitlines())
    return pid, fields["Uid"].split()[0], fields["Gid"].split()[0], fields["Groups"].split()


def test_every_daemon_runs_as_its_own_user(central):
    users = {}
    for unit in SECRETS_READ:
        _, uid, _, _ = running_as(central, unit)
        users[unit] = central.run("getent", "passwd", uid).stdout.split(":")[0]
        assert central.show(unit, "User")["User"] == users[unit], unit
    assert users == {unit: "cardshop-writer" if unit.startswith("writer@") else unit for unit in SECRETS_READ}


def test_each_daemon_reads_its_own_secrets_and_is_refused_every_other(central):
    """In each running unit's mount namespace, with its main process's uid, gid and groups (setpriv),
    every secret of the host is read: only the unit's own are readable (the manager and the creator
    read no JWT key, system password or database URI)."""
    read = {}
    for unit in SECRETS_READ:
        pid, uid, gid, groups = running_as(central, unit)
        out = central.sh(f"""
            for name in {' '.join(ALL_SECRETS)}; do
                if nsenter -t {pid} -m setpriv --reuid={uid} --regid={gid} --groups={','.join(groups) or gid} \
                        --inh-caps=-all cat {site.SECRETS}/$name >/dev/null 2>/tmp/refusal; then
                    echo "$name read"
                elif grep -q 'Permission denied' /tmp/refusal; then
                    echo "$name refused"
                else
                    echo "$name $(cat /tmp/refusal)"
                fi
            done""", timeout=120).stdout.split("\n")
        read[unit] = {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in out if line.strip()}
    expected = {unit: {name: "read" if name in own else "refused" for name in ALL_SECRETS}
                for unit, own in SECRETS_READ.items()}
    assert read == expected


# -- (c) a writer killed mid-write ------------------------------------------------------------------

def insert_slow_card(device, folder, size):
    """A blank card whose writes reach the disk (loop direct I/O, no page cache): a write that lasts."""
    path = os.path.join(folder, "slow-card.img")
    with open(path, "wb") as handle:
        handle.truncate(size)
    subprocess.run(["losetup", "--direct-io=on", device, path], check=True)
    return path


def test_a_writer_killed_mid_write_still_ends_with_the_card_written_and_verified(central, readers, state):
    # A bigger image, so that the write lasts long enough to be caught in the middle.
    recipe = site.with_big_file(central, state["recipe"], 768 * 1024 * 1024)
    order = site.place_order(central, recipe, 1)
    site.wait_order(central, order["_id"], ("pending_writer", "writing"), timeout=300)
    since = central.run("date", "+%Y-%m-%d %H:%M:%S").stdout.strip()
    path = insert_slow_card(readers[0], site.card_folder(central), 2 * 10**9)
    # Killed from inside as soon as the slot logs that it took the task ("slot 1: busy"; it then downloads,
    # writes and verifies for a few seconds on this direct-I/O card): a tight loop in the machine catches it.
    before = int(central.show("writer@1", "NRestarts")["NRestarts"])
    seen = central.sh(f"""
        end=$(($(date +%s) + 300))
        until journalctl -u writer@1 --since '{since}' -o cat | grep -q 'slot 1: busy'; do
            [ "$(date +%s)" -lt "$end" ] || {{ echo "slot 1 did not take the task" >&2; exit 1; }}
            sleep 0.05
        done
        systemctl kill -s KILL writer@1
        journalctl -u writer@1 --since '{since}' -o cat | grep 'slot 1:' | tail -n 1""", timeout=330).stdout
    print(f"killed writer@1 after: {seen.strip()}")
    assert "slot 1: busy" in seen, f"the kill came after the task: {seen}"
    central.wait_for("writer@1 was not restarted", lambda: int(
        central.show("writer@1", "NRestarts")["NRestarts"]) > before, timeout=60)
    central.wait_active(["writer@1.service"], timeout=120)
    done = site.wait_order(central, order["_id"], ("pending_shipment",), timeout=600)
    image = done["image"]
    assert first_bytes_sha256(path, image["image_size"]) == image["sha256"]
    cards.remove(readers[0])


# -- (e) the watchdog -----------------------------------------------------------------------------

def test_the_watchdog_restarts_a_frozen_scheduler(central):
    before = central.show("cardshop-scheduler", "NRestarts", "MainPID", "WatchdogUSec")
    assert before["WatchdogUSec"] not in ("", "0", "infinity"), before
    central.run("systemctl", "kill", "-s", "STOP", "--kill-whom=main", "cardshop-scheduler")

    def restarted():
        now = central.show("cardshop-scheduler", "NRestarts", "MainPID", "ActiveState")
        return (int(now["NRestarts"]) > int(before["NRestarts"]) and now["MainPID"] not in ("0", before["MainPID"])
                and now["ActiveState"] == "active")
    central.wait_for("systemd did not restart the frozen scheduler", restarted, timeout=180, interval=1)


# -- (d) stopping ---------------------------------------------------------------------------------------

def test_stopping_cardshop_target_stops_every_unit_within_10_seconds(central):
    units = sorted(set(site.central_units(central)) | {"writer@1.service", "writer@2.service"})
    started = time.monotonic()
    central.run("systemctl", "stop", "cardshop.target", timeout=120)
    central.wait_for("units still running", lambda: all(
        central.show(unit, "ActiveState")["ActiveState"] in ("inactive", "failed") for unit in units), timeout=120)
    took = time.monotonic() - started
    print(f"figure: stop cardshop.target {took:.1f} s (limit 10 s)")
    assert took < 10, f"stopping cardshop.target took {took:.1f} s"
