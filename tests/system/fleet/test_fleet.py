"""A whole fleet deployed with Ansible: three booted Debian 13 hosts on a private bridge, reached over SSH.

central.fleet.test (.10) is the central host and the warehouse, creator.fleet.test
(.20) the creator, writer.fleet.test (.30) a writer host with loop devices as card
readers. The tests run in file order on one fleet: site.yml deploys it, a second
run and a --check --diff run change nothing, an order placed through the API
ends as two verified cards, the database's backup (pg_basebackup) runs, a
third slot in the inventory enables exactly writer@3, upgrade.yml upgrades the writer host while a card is being written
(which still ends verified, written once), and dropping the third slot from the
inventory stops and forgets exactly writer@3. Each run's PLAY RECAP and time is
printed.
"""

import json
import os
import re

import pytest
import yaml

from cardshop.writer_helper import units
from devstack import cards
from devstack.demo import first_bytes_sha256
from tests.ansible.conftest import ansible_bin  # noqa: F401 (a fixture: Ansible from its own venv)
from tests.system import machine as machines
from tests.system import site
from tests.system.fleet import control

CENTRAL, CREATOR, WRITER = "central.fleet.test", "creator.fleet.test", "writer.fleet.test"
CREATOR_USER, WRITER_USER = "creator-1", "writer-1"
READERS = 3  # slots 1 and 2, then a third one added to the inventory
CENTRAL_UNITS = ("postgresql@17-main", "ferretdb", "rabbitmq-server", "cardshop-scheduler", "cardshop-monitor", "cardshop-beat",
                 "cardshop-manager", "cardshop-warehouse", "nginx")
FRONT_PORT = 8443  # the API's TLS front on the central host (cardshop_common_scheduler_tls_port)
CA_FILE = "/etc/cardshop/ca.crt"
SLOW_WRITE = 4 * 10**6  # bytes/s to the card being written during the upgrade: a write of about 40 s
FIGURES = os.path.join(machines.VAR, "figures", "fleet.json")  # read by `make bench` (bench/fleet.py)


def debs_folder(variable, default):
    folder = os.environ.get(variable) or os.path.join(machines.VAR, default)
    if not os.path.isdir(folder) or not any(name.startswith("cardshop-writer_") for name in os.listdir(folder)):
        pytest.fail(f"no cardshop .debs in {folder}: tests/system/prepare.sh fleet builds them")
    return folder


@pytest.fixture(scope="module")
def fleet(debs, ansible_bin, readers):
    why = machines.can_boot()
    if why:
        pytest.skip(f"cannot boot a container here: {why}")
    if not control.SlowCards.available():
        pytest.fail("no cgroup v1 blkio hierarchy (/sys/fs/cgroup/blkio): the upgrade test slows a card with it")
    control.ensure_fleet_base(debs.values())
    with control.SlowCards(f"cs-fleet-{os.getpid()}") as slow, \
            control.Fleet(ansible_bin, os.path.dirname(debs["cardshop-writer"])) as fleet:
        fleet.slow = slow
        fleet.add("central", 10).boot()
        fleet.add("creator", 20).boot()
        fleet.add("writer", 30, binds=readers, cgroup=slow.path).boot()
        fleet.write_vault([CREATOR_USER, WRITER_USER])
        write_inventory(fleet, readers[:2])
        # The test's own API calls go through the TLS front too, checked with the fleet's CA.
        fleet.hosts["central"].machine.api_env = {
            "CARDSHOP_API": f"https://{fleet.hosts['central'].address}:{FRONT_PORT}", "CARDSHOP_CA_FILE": CA_FILE}
        yield fleet
        fleet.save_figures(FIGURES)
        print("\nfigures: " + ", ".join(f"{item['run']} {item['seconds']:.0f} s (changed={item['changed']})"
                                        for item in fleet.figures()))


def write_inventory(fleet, slot_devices):
    """The fleet as an admin writes it: ansible/inventory/example's layout, this network's addresses."""
    def host(name):
        address = fleet.hosts[name.split(".")[0]].address
        return {"ansible_host": address, "cardshop_address": address}
    fleet.write_inventory(
        hosts={"central": {CENTRAL: host(CENTRAL)},
               "warehouses": {CENTRAL: {}},
               "creators": {CREATOR: {**host(CREATOR), "cardshop_worker_username": CREATOR_USER}},
               "writers": {WRITER: {**host(WRITER), "cardshop_worker_username": WRITER_USER}}},
        host_vars={
            # The test's content server runs on the creator's own loopback.
            CREATOR: {"cardshop_creator_fetch_allow": [{"network": "127.0.0.1"}]},
            WRITER: {"cardshop_writer_slots": [{"slot": number, "device": device}
                                               for number, device in enumerate(slot_devices, 1)]}},
        # The writer's cards are memory-backed loop devices: gigabytes a second, not a card's 400 MB/s.
        settings={"cardshop_writer_drain_delay": 2, "cardshop_database_backup": True,
                  "cardshop_scheduler_monitor_max_card_rate": 20_000_000_000})


def machine(fleet, name):
    return fleet.hosts[name].machine


def slot_state(writer, number):
    """Slot `number`'s own state on the writer host, as `cardshop-writer-helper status --json` gives it
    (None while it publishes none)."""
    slots = json.loads(writer.run("cardshop-writer-helper", "status", "--json").stdout)["slots"]
    return next(item["state"] for item in slots if item["slot"] == number)


def writer_units(writer):
    """{writer@N.service: MainPID} of the units cardshop.target wants (the writer-helper's links)."""
    linked = units.linked(writer.path(units.DEFAULT_WANTS_DIR))
    return {units.instance(number): writer.show(units.instance(number), "MainPID")["MainPID"]
            for number in sorted(linked)}


# -- deploying ----------------------------------------------------------------------------------------

def test_site_yml_deploys_the_whole_fleet(fleet):
    fleet.playbook("first run", "site.yml").check()
    central, creator, writer = (machine(fleet, name) for name in ("central", "creator", "writer"))
    central.wait_active([f"{unit}.service" for unit in CENTRAL_UNITS], timeout=120)
    creator.wait_active(["cardshop-creator.service"], timeout=120)
    writer.wait_active(["writer@1.service", "writer@2.service"], timeout=120)
    assert sorted(writer_units(writer)) == ["writer@1.service", "writer@2.service"]
    for number in (1, 2):
        status = writer.show(f"writer@{number}", "StatusText")["StatusText"]
        assert status.startswith(f"slot {number}: "), status
        # Machines read its state file (writer@N's RuntimeDirectory), through the helper.
        state = slot_state(writer, number)
        assert state and state["slot"] == number and not state["draining"], state
    # The database: set up by cardshop-database-setup, each daemon logging in with its own role.
    assert central.run("cardshop-database-setup", "--check", check=False).returncode == 0
    for daemon in site.DATABASE_DAEMONS:
        config = yaml.safe_load(open(central.path(f"/etc/cardshop/{daemon}.yaml")))
        assert config["database"]["uri_file"] == site.database_uri_file(daemon), config["database"]
    # Workers reach the API through the TLS front only: the scheduler listens on loopback.
    for daemon, host in (("creator", creator), ("writer", writer)):
        config = yaml.safe_load(open(host.path(f"/etc/cardshop/{daemon}.yaml")))
        assert config["scheduler"] == {"api_url": f"https://{fleet.hosts['central'].address}:{FRONT_PORT}",
                                       "ca_file": CA_FILE}, config["scheduler"]
    reach = ("import socket, sys\ntry: socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)\n"
             "except OSError: sys.exit(1)")
    central_address = fleet.hosts["central"].address
    assert creator.run("python3", "-c", reach, central_address, str(FRONT_PORT), check=False).returncode == 0
    assert creator.run("python3", "-c", reach, central_address, "8080", check=False).returncode == 1
    # Roles only where the inventory puts them.
    assert not creator.installed("cardshop-writer") and not writer.installed("cardshop-creator")
    assert not writer.installed("python3-pymongo") and not writer.installed("rabbitmq-server")


def test_a_second_run_changes_nothing(fleet):
    run = fleet.playbook("second run", "site.yml").check()
    assert run.total("changed") == 0, run.recap_text()


def test_check_diff_on_the_deployed_fleet_reports_no_change(fleet):
    run = fleet.playbook("check", "site.yml", "--check", "--diff").check()
    assert run.total("changed") == 0, run.recap_text()


# -- using it -------------------------------------------------------------------------------------------

def test_an_order_through_the_api_ends_as_two_verified_cards_on_the_writer_host(fleet, readers, state):
    central, creator, writer = (machine(fleet, name) for name in ("central", "creator", "writer"))
    state["recipe"] = site.serve_content(creator)
    order = site.place_order(central, state["recipe"], 2)
    built = site.wait_order(central, order["_id"], ("pending_writer", "writing"), timeout=300)
    central.wait_for("the two write tasks were not made",
                     lambda: len(site.write_tasks(site.order_of(central, order["_id"]))) == 2)
    inserted = {device: cards.insert(device, site.card_folder(writer), 2 * 10**9) for device in readers[:2]}
    done = site.wait_order(central, order["_id"], ("pending_shipment",), timeout=600)
    assert len(done["cards"]) == 2
    image = built["image"]
    for device, path in inserted.items():
        assert first_bytes_sha256(path, image["image_size"]) == image["sha256"], f"card in {device}"
    for device in readers[:2]:
        cards.remove(device)


def test_the_database_backup_timer_makes_a_pg_basebackup_of_the_cluster(fleet):
    central = machine(fleet, "central")
    assert central.show("cardshop-database-backup.timer", "ActiveState")["ActiveState"] == "active"
    central.run("systemctl", "start", "cardshop-database-backup.service", timeout=300)
    made = central.run("sh", "-c", "ls -1 /var/backups/cardshop-database/*/").stdout.split()
    assert "base.tar.gz" in made and "pg_wal.tar.gz" in made, made
    print(f"backup: {central.journal('cardshop-database-backup', 3)}")


# -- changing it ----------------------------------------------------------------------------------------

def test_a_third_slot_in_the_inventory_enables_exactly_writer_3(fleet, readers):
    writer = machine(fleet, "writer")
    before = writer_units(writer)
    write_inventory(fleet, readers)
    # A slot concerns its writer host only (it registers its slots itself): the operator limits the run to it.
    run = fleet.playbook("third slot", "site.yml", "--limit", WRITER).check()
    writer.wait_active(["writer@3.service"], timeout=120)
    after = writer_units(writer)
    assert sorted(set(after) - set(before)) == ["writer@3.service"], after
    assert {unit: after[unit] for unit in before} == before, "a running slot was restarted"
    assert sorted(run.recap) == [WRITER], run.recap_text()


def test_upgrade_yml_waits_for_the_card_being_written_and_upgrades_the_writer_host(fleet, readers, state):
    central, creator, writer = (machine(fleet, name) for name in ("central", "creator", "writer"))
    next_debs = debs_folder("CARDSHOP_NEXT_DEBS", "debs-next")
    next_version = machines.deb_fields(os.path.join(next_debs, next(
        name for name in os.listdir(next_debs) if name.startswith("cardshop-writer_"))), "Version")["Version"]
    old_version = writer.run("dpkg-query", "-W", "-f=${Version}", "cardshop-writer").stdout
    assert old_version != next_version

    recipe = site.with_big_file(creator, state["recipe"], 160 * 1024 * 1024)
    order = site.place_order(central, recipe, 1)
    site.wait_order(central, order["_id"], ("pending_writer", "writing"), timeout=300)
    fleet.slow.limit(readers[0], SLOW_WRITE)
    path = cards.insert(readers[0], site.card_folder(writer), 2 * 10**9)
    writer.wait_for("slot 1 did not start writing", lambda: (slot_state(writer, 1) or {}).get("state") == "busy",
                    timeout=300, interval=0.5)

    run = fleet.playbook("upgrade", "upgrade.yml", "-e", f"cardshop_common_debs_dir={next_debs}").check()
    # drain.yml found slot 1 busy (`cardshop-writer-helper drain` exited 75) and asked again until its card
    # was done.
    assert re.search(r"FAILED - RETRYING: \[writer\.fleet\.test\]: Wait until each slot is not writing",
                     run.output), run.output[-4000:]
    done = site.wait_order(central, order["_id"], ("pending_shipment",), timeout=600)
    assert first_bytes_sha256(path, done["image"]["image_size"]) == done["image"]["sha256"]
    # Written once: the upgrade did not interrupt it (no second run of the task, no requeue).
    (task,) = site.write_tasks(done)
    steps = [entry["status"] for entry in task["statuses"]]
    assert steps.count("writing") == 1 and "requeued" not in steps, steps
    assert writer.run("dpkg-query", "-W", "-f=${Version}", "cardshop-writer").stdout == next_version
    writer.wait_active(["writer@1.service", "writer@2.service", "writer@3.service"], timeout=120)
    fleet.slow.limit(readers[0], 0)
    cards.remove(readers[0])


def test_a_slot_dropped_from_the_inventory_is_stopped_and_forgotten(fleet, readers):
    writer = machine(fleet, "writer")
    before = writer_units(writer)
    write_inventory(fleet, readers[:2])
    run = fleet.playbook("slot dropped", "site.yml", "--limit", WRITER).check()
    after = writer_units(writer)
    assert sorted(after) == ["writer@1.service", "writer@2.service"], after
    assert after == {unit: before[unit] for unit in after}, "a slot still listed was restarted"
    assert writer.show("writer@3", "ActiveState")["ActiveState"] == "inactive"
    slots = yaml.safe_load(open(writer.path("/etc/cardshop/slots.yaml")))["slots"]
    assert [entry["slot"] for entry in slots] == [1, 2], slots
    assert not os.path.lexists(writer.path("/dev/cardshop/slot-3"))
    assert sorted(run.recap) == [WRITER], run.recap_text()


def test_new_worker_passwords_in_the_vault_reach_the_hosts_and_no_diff_shows_them(fleet):
    creator, writer = machine(fleet, "creator"), machine(fleet, "writer")
    before = {"creator": creator.show("cardshop-creator", "MainPID")["MainPID"], **writer_units(writer)}
    fleet.write_vault(rotate=[CREATOR_USER, WRITER_USER])
    run = fleet.playbook("new passwords", "site.yml", "--diff").check()  # check(): no secret in the output
    passwords = fleet.vault["vault_cardshop_worker_passwords"]
    assert open(creator.path("/etc/cardshop/secrets/broker.password")).read().strip() == passwords[CREATOR_USER]
    assert open(writer.path("/etc/cardshop/secrets/writer.password")).read().strip() == passwords[WRITER_USER]
    # Restarted (each slot once idle) and ready again: READY comes once logged into the broker with the new one.
    creator.wait_for("the creator was not restarted", lambda: creator.show(
        "cardshop-creator", "MainPID")["MainPID"] not in ("0", before["creator"]), timeout=120)
    creator.wait_active(["cardshop-creator.service"], timeout=120)
    writer.wait_active(list(writer_units(writer)), timeout=120)
    assert all(pid != before[unit] for unit, pid in writer_units(writer).items()), "a slot kept its old password"
    assert run.recap[CREATOR]["changed"] > 0 and run.recap[WRITER]["changed"] > 0, run.recap_text()
