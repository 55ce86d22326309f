"""python -m devstack up [--slots N]|down|status|card-insert SLOT [SIZE]|card-remove SLOT: the local stack.

It lives under var/stack/ (CARDSHOP_STACK_DIR names another folder).
"""

import json
import os
import socket
import sys

from cardshop.client import ApiClient, ApiUnreachable
from devstack import cards, writer_host
from devstack.manager import Manager
from devstack.processes import Process, StackError, free_port
from devstack.servers import REPO, Beat, ContentServer, Creator, FerretDB, Monitor, RabbitMQ, Scheduler, Warehouse, \
    log_in

BASE = os.environ.get("CARDSHOP_STACK_DIR") or os.path.join(REPO, "var", "stack")
STATE = os.path.join(BASE, "stack.json")
WRITER_USER = "writer-1"
# Stop order: the reverse of start order.
COMPONENTS = [("postgresql", "postgresql"), ("ferretdb", "ferretdb"), ("scheduler", "scheduler"), ("rabbitmq", "epmd"),
              ("rabbitmq", "rabbitmq"), ("monitor", "monitor"), ("beat", "beat"), ("warehouse", "warehouse"),
              ("content", "content"), ("creator", "creator"), ("manager", "manager")]


def default_warehouse(api_url, admin, url, name="main"):
    """Register the stack's warehouse and make it the default (orders that name none go there)."""
    client = ApiClient(api_url, log_in(api_url, admin)["access_token"])
    reply = client.post("/warehouses", {"name": name, "upload_url": url, "download_url": url, "default": True})
    if reply.status == 409:  # kept from an earlier run of the stack: point it here
        reply = client.patch(f"/warehouses/{name}", {"upload_url": url, "download_url": url, "default": True})
    if reply.status not in (200, 201):
        raise StackError(f"cannot register warehouse {name}: {reply.error}")


def _writer_host(scheduler, rabbitmq, slots):
    """The writer host of `slots` slots on free loop devices, or None (said why) when it cannot run here."""
    if slots == 0:
        return None
    if not os.path.exists(writer_host.PROGRAM):
        print(f"no writer host: {os.path.relpath(writer_host.PROGRAM, REPO)} does not exist yet")
        return None
    try:
        devices = cards.take_readers(slots)
    except cards.CardError as exc:
        print(f"no writer host: {exc}")
        return None
    _, password_file = scheduler.worker_user(WRITER_USER, "writer")
    writer_host.declare_queue(rabbitmq.url, os.path.join(scheduler.secrets, "system.password"), WRITER_USER)
    host = writer_host.WriterHost(BASE, scheduler.url, rabbitmq.url, WRITER_USER, password_file, devices,
                                  admin=scheduler.admin)
    host.start()
    return host


def up(slots=2):
    if os.path.exists(STATE) and all_running():
        print(f"the stack is up already; see {STATE}")
        return 0
    if os.path.exists(STATE) or any(process.running() for process in _processes()):
        print("a previous stack is partly up or partly down; stopping what is left first")
        down()
    os.makedirs(BASE, exist_ok=True)
    started = []
    try:
        ferretdb = FerretDB(BASE)
        ferretdb.start()
        started.append(ferretdb)
        api_port = free_port()
        rabbitmq = RabbitMQ(BASE, f"http://127.0.0.1:{api_port}")
        scheduler = Scheduler(BASE, ferretdb.user_url("cardshop_scheduler"), port=api_port, broker_url=rabbitmq.url)
        scheduler.start()
        started.append(scheduler)
        rabbitmq.start()
        started.append(rabbitmq)
        # The stack's cards are files in memory behind loop devices: gigabytes a second, not a card's 400 MB/s.
        monitor = Monitor(BASE, ferretdb.user_url("cardshop_monitor"), scheduler.db_name, rabbitmq.url,
                          os.path.join(scheduler.secrets, "system.password"), scheduler.url,
                          settings={"max_card_rate": 20_000_000_000})
        monitor.start()
        started.append(monitor)
        beat = Beat(BASE, ferretdb.user_url("cardshop_beat"), scheduler.db_name, rabbitmq.url,
                    os.path.join(scheduler.secrets, "system.password"), scheduler.url)
        beat.start()
        started.append(beat)
        warehouse = Warehouse(BASE, scheduler.url)
        warehouse.start()
        started.append(warehouse)
        content = ContentServer(BASE)
        content.start()
        started.append(content)
        creator_user = "creator-1"
        _, creator_password_file = scheduler.worker_user(creator_user, "creator")
        creator = Creator(BASE, scheduler.url, rabbitmq.url, creator_user, creator_password_file,
                          fetch_allow=[content.allowed])
        creator.start()
        started.append(creator)
        default_warehouse(scheduler.url, scheduler.admin, warehouse.url)
        host = _writer_host(scheduler, rabbitmq, slots)
        if host is not None:
            started.append(host)
        manager = Manager(BASE, scheduler.url)
        manager.start()
        started.append(manager)
    except BaseException as exc:  # whatever failed (or Ctrl-C), nothing this start began keeps running
        print(f"make up failed: {exc if isinstance(exc, StackError) else repr(exc)}; stopping what it started",
              file=sys.stderr)
        for server in reversed(started):
            server.stop()
        down()  # and what a server left half-started (its PID file is there, it is not in `started`)
        if not isinstance(exc, Exception):
            raise
        return 1
    state = {
        "api_url": scheduler.url,
        "amqp_url": rabbitmq.url,
        "mongo_url": ferretdb.url,  # with the tests' password: this file is 0600
        "database": f"127.0.0.1:{ferretdb.port}",
        "ftp_url": warehouse.url,
        "content_url": content.url,
        "manager_url": manager.url,
        "content_dir": content.root,
        "creator": {"username": creator_user},
        "mongo_db": scheduler.db_name,
        "rabbitmq_node": rabbitmq.node,
        "admin": scheduler.admin,
        "system": scheduler.system,
        "logs": {name: os.path.join(BASE, folder, f"{name}.log") for folder, name in COMPONENTS},
        "warehouse": "main",
        "writer_host": {"username": WRITER_USER, "config": host.config_path} if host else None,
        "slots": host.slots if host else [],
    }
    if host:
        state["logs"].update({writer.process.name: writer.process.log_path for writer in host.writers})
    fd = os.open(STATE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds passwords
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=2)
    print(f"stack up: API {scheduler.url}, AMQP {rabbitmq.url}, database 127.0.0.1:{ferretdb.port}")
    if host:
        print(f"writer host {WRITER_USER}: " + ", ".join(f"slot {item['slot']} on {item['device']}"
                                                     for item in host.slots)
              + "; insert a card with `make card-insert SLOT=1 [SIZE=2G]`")
    print(f"manager (web UI) {manager.url}; admin login and URLs in {STATE}")
    print(f"CLI: .venv/bin/python daemons/cardshop --api {scheduler.url} login {scheduler.admin['username']}"
          f"   (password: jq -r .admin.password {STATE})")
    return 0


def _processes():
    return [Process(name, os.path.join(BASE, folder)) for folder, name in COMPONENTS] + writer_host.processes(BASE)


def all_running():
    return all(process.running() for process in _processes())


def _remove_cards():
    """Take out the cards `make card-insert` put into this stack's slots."""
    try:
        with open(STATE) as handle:
            slots = json.load(handle).get("slots") or []
    except (OSError, ValueError):
        return
    for item in slots:
        card = cards.backing_file(item["device"])
        if card and card.startswith(os.path.join(BASE, "cards") + os.sep):
            cards.remove(item["device"])


def down():
    stopped = []
    for process in reversed(_processes()):
        if process.pid is not None and process.stop(timeout=60):
            stopped.append(process.name)
    _remove_cards()
    if os.path.exists(STATE):
        os.unlink(STATE)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def status():
    for process in _processes():
        state = "running" if process.running() else "stopped"
        print(f"{process.name:10} {state:8} pid {process.pid or '-'}  log {process.log_path}")
    if os.path.exists(STATE):
        with open(STATE) as handle:
            state = json.load(handle)
        print(f"API {state.get('api_url')}  AMQP {state.get('amqp_url')}  database {state.get('database')}")
        shown = _slot_states(state)
        for item in state.get("slots") or []:
            card = cards.backing_file(item["device"])
            print(f"slot {item['slot']}  {item['device']}  " + (f"card {card}" if card else "no card")
                  + f"  {shown.get(item['slot'], 'state not known')}")
    return 0


def _slot_states(state):
    """{slot number: "state: message"} as the scheduler last heard it; {} when it cannot be asked."""
    try:
        client = ApiClient(state["api_url"], log_in(state["api_url"], state["admin"], timeout=5)["access_token"],
                           timeout=5)
        reply = client.get(f"/workers/{WRITER_USER}@{socket.gethostname()}")
    except (StackError, ApiUnreachable, KeyError) as exc:
        print(f"slot states not known: {exc}")
        return {}
    if reply.status != 200:
        return {}
    return {slot["number"]: f"{slot.get('state')}" + (f": {slot['message']}" if slot.get("message") else "")
            for slot in reply.body.get("slot_states") or []}


def card_insert(slot, size="2G"):
    path = writer_host.insert_card(STATE, slot, size, os.path.join(BASE, "cards"))
    print(path)
    return 0


def card_remove(slot):
    path = writer_host.remove_card(STATE, slot)
    print(f"removed {path} from slot {slot} (the file stays, to look at)")
    return 0


USAGE = ("usage: python -m devstack up [--slots N] | down | status | card-insert SLOT [SIZE] | card-remove SLOT\n"
         "       (make up SLOTS=2, make card-insert SLOT=1 SIZE=2G, make card-remove SLOT=1)")


def main(argv):
    command, args = (argv[0], argv[1:]) if argv else (None, [])
    try:
        if command == "up" and args[:1] == ["--slots"] and len(args) == 2 and args[1].isdigit():
            return up(int(args[1]))
        if command in ("up", "down", "status") and not args:
            return {"up": up, "down": down, "status": status}[command]()
        if command == "card-insert" and len(args) in (1, 2) and args[0]:
            return card_insert(*args)
        if command == "card-remove" and len(args) == 1 and args[0]:
            return card_remove(args[0])
    except StackError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 1
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
