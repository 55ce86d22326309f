"""The local stack's writer host: card-insert/card-remove on its slots, its config, the default warehouse."""

import json
import os
import socket
import subprocess

import amqp
import pytest

from cardshop.config.load import load_config
from cardshop.config.rules import check
from cardshop.config.writer import SCHEMA, SLOTS_SCHEMA
from devstack import cards
from devstack.__main__ import default_warehouse
from devstack.servers import REPO
from devstack.writer_host import WriterHost, declare_queue
from tests.conftest import unique


@pytest.fixture
def readers():
    taken = cards.take_readers(2)
    yield taken
    for device in taken:
        cards.remove(device)


@pytest.fixture
def stack(tmp_path, readers):
    """A stack folder whose stack.json names two slots on this suite's readers."""
    (tmp_path / "stack.json").write_text(json.dumps(
        {"writer_host": {"username": "writer-1"},
         "slots": [{"slot": 1, "device": readers[0]}, {"slot": 2, "device": readers[1]}]}))
    return tmp_path


def make(stack, *args):
    return subprocess.run(["make", "-s", *args], cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "CARDSHOP_STACK_DIR": str(stack)})


def test_card_insert_puts_a_blank_card_of_the_size_asked_into_the_slot(stack, readers):
    result = make(stack, "card-insert", "SLOT=2", "SIZE=64M")
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip()
    assert path.startswith(str(stack / "cards") + "/") and os.path.getsize(path) == 64 * 10**6
    assert cards.backing_file(readers[1]) == path and not cards.has_card(readers[0])


def test_card_insert_defaults_to_a_2_gb_card(stack, readers):
    result = make(stack, "card-insert", "SLOT=1")
    assert result.returncode == 0, result.stderr
    assert os.path.getsize(result.stdout.strip()) == 2 * 10**9


def test_card_remove_takes_the_card_out_and_keeps_its_file(stack, readers):
    path = make(stack, "card-insert", "SLOT=1", "SIZE=1M").stdout.strip()
    result = make(stack, "card-remove", "SLOT=1")
    assert result.returncode == 0, result.stderr
    assert path in result.stdout and not cards.has_card(readers[0]) and os.path.exists(path)


@pytest.mark.parametrize("args, message", [
    (("card-insert", "SLOT=3"), "no slot 3: the stack's slots are 1, 2"),
    (("card-insert", "SLOT=one"), "SLOT='one': expected a slot number"),
    (("card-insert", "SLOT=1", "SIZE=lots"), "card size 'lots': expected a number with K, M, G or T"),
    (("card-remove", "SLOT=2"), "slot 2 (READER) holds no card"),
    (("card-insert",), "usage: "),
])
def test_card_targets_refuse_bad_requests_clearly(stack, readers, args, message):
    result = make(stack, *args)
    assert result.returncode != 0
    assert message.replace("READER", readers[1]) in result.stderr and "Traceback" not in result.stderr


def test_a_second_card_in_a_full_slot_is_refused(stack, readers):
    assert make(stack, "card-insert", "SLOT=1", "SIZE=1M").returncode == 0
    result = make(stack, "card-insert", "SLOT=1", "SIZE=1M")
    assert result.returncode != 0 and "already holds a card; remove it first" in result.stderr


def test_card_targets_without_a_stack_say_to_run_make_up(tmp_path):
    result = make(tmp_path, "card-insert", "SLOT=1")
    assert result.returncode != 0 and "run `make up` first" in result.stderr


def test_the_writer_hosts_config_is_what_the_writer_and_its_slots_file_schema_accept(tmp_path, readers):
    secret = tmp_path / "writer-1.password"
    secret.write_text("a password\n")
    secret.chmod(0o600)
    host = WriterHost(str(tmp_path), "http://127.0.0.1:8080", "amqp://127.0.0.1:5672/cardshop", "writer-1",
                      str(secret), readers)
    os.makedirs(host.dir)
    host.write_config()
    config = check(load_config(SCHEMA, host.config_path))
    assert config["broker"]["username"] == "writer-1" and config["writer"]["slots_file"] == host.slots_path
    slots = load_config(SLOTS_SCHEMA, config["writer"]["slots_file"])["slots"]
    assert [(item["slot"], item["device"]) for item in slots] == [(1, readers[0]), (2, readers[1])]
    assert host.slots == [{"slot": 1, "device": readers[0]}, {"slot": 2, "device": readers[1]}]


def test_make_up_registers_its_warehouse_as_the_default(scheduler, admin, warehouse):
    name = unique("stack")
    try:
        default_warehouse(scheduler.url, scheduler.admin, "ftp://127.0.0.1:2999/", name=name)
        default_warehouse(scheduler.url, scheduler.admin, "ftp://127.0.0.1:3000/", name=name)  # a later `make up`
        listed = admin.get("/warehouses").body["items"]
        assert [item["name"] for item in listed if item["default"]] == [name]
        assert admin.get(f"/warehouses/{name}").body["upload_url"] == "ftp://127.0.0.1:3000/"
    finally:
        assert admin.patch(f"/warehouses/{warehouse}", {"default": True}).status == 200
        admin.delete(f"/warehouses/{name}")


def test_the_hosts_queue_is_declared_so_a_slot_with_a_card_consumes_before_any_task(rabbitmq, scheduler, make_user):
    writer = make_user("writer")
    declare_queue(rabbitmq.url, os.path.join(scheduler.secrets, "system.password"), writer.username)
    connection = amqp.Connection(f"127.0.0.1:{rabbitmq.port}", userid=writer.username, password=writer.password,
                                 virtual_host="cardshop", connect_timeout=10)
    connection.connect()
    try:  # without the declare: 404 NOT_FOUND, the slot's consumer fails
        connection.channel().basic_consume(f"write.{writer.username}", callback=lambda message: None)
    finally:
        connection.close()


def test_the_stacks_writer_host_registers_its_slots_as_an_operator_would(tmp_path, readers, scheduler, admin):
    username = unique("writ")
    _, secret = scheduler.worker_user(username, "writer")
    host = WriterHost(str(tmp_path), scheduler.url, "amqp://127.0.0.1:5672/cardshop", username, secret, readers,
                      admin=scheduler.admin)
    os.makedirs(host.dir)
    host.write_config()
    assert host.register()["slots"] == [1, 2]
    shown = admin.get(f"/writer-hosts/{username}@{socket.gethostname()}/slots").body["slots"]
    assert [(slot["number"], slot["reader"]["device"]) for slot in shown] == [(1, readers[0]), (2, readers[1])]
