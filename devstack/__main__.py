"""python -m devstack up|down|status: the local stack under var/stack/."""

import json
import os
import sys

from devstack.manager import Manager
from devstack.processes import Process, StackError, free_port
from devstack.servers import REPO, Beat, ContentServer, Creator, FerretDB, Monitor, RabbitMQ, Scheduler, Warehouse

BASE = os.path.join(REPO, "var", "stack")
STATE = os.path.join(BASE, "stack.json")
# Stop order: the reverse of start order.
COMPONENTS = [("ferretdb", "ferretdb"), ("scheduler", "scheduler"), ("rabbitmq", "epmd"),
              ("rabbitmq", "rabbitmq"), ("monitor", "monitor"), ("beat", "beat"), ("warehouse", "warehouse"),
              ("content", "content"), ("creator", "creator"), ("manager", "manager")]


def up():
    if os.path.exists(STATE):
        if all_running():
            print(f"the stack is up already; see {STATE}")
            return 0
        print("a previous stack is partly down; stopping what is left first")
        down()
    os.makedirs(BASE, exist_ok=True)
    started = []
    try:
        ferretdb = FerretDB(BASE)
        ferretdb.start()
        started.append(ferretdb)
        api_port = free_port()
        rabbitmq = RabbitMQ(BASE, f"http://127.0.0.1:{api_port}")
        scheduler = Scheduler(BASE, ferretdb.url, port=api_port, broker_url=rabbitmq.url)
        scheduler.start()
        started.append(scheduler)
        rabbitmq.start()
        started.append(rabbitmq)
        monitor = Monitor(BASE, ferretdb.url, scheduler.db_name, rabbitmq.url,
                          os.path.join(scheduler.secrets, "system.password"), scheduler.url)
        monitor.start()
        started.append(monitor)
        beat = Beat(BASE, ferretdb.url, scheduler.db_name, rabbitmq.url,
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
        manager = Manager(BASE, scheduler.url)
        manager.start()
        started.append(manager)
    except StackError as exc:
        print(f"make up failed: {exc}", file=sys.stderr)
        for server in reversed(started):
            server.stop()
        return 1
    state = {
        "api_url": scheduler.url,
        "amqp_url": rabbitmq.url,
        "mongo_url": ferretdb.url,
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
    }
    fd = os.open(STATE, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # holds passwords
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle, indent=2)
    print(f"stack up: API {scheduler.url}, AMQP {rabbitmq.url}, database {ferretdb.url}")
    print(f"manager (web UI) {manager.url}; admin login and URLs in {STATE}")
    return 0


def _processes():
    return [Process(name, os.path.join(BASE, folder)) for folder, name in COMPONENTS]


def all_running():
    return all(process.running() for process in _processes())


def down():
    stopped = []
    for process in reversed(_processes()):
        if process.pid is not None and process.stop(timeout=60):
            stopped.append(process.name)
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
        print(f"API {state['api_url']}  AMQP {state['amqp_url']}  database {state['mongo_url']}")
    return 0


def main(argv):
    commands = {"up": up, "down": down, "status": status}
    if len(argv) != 1 or argv[0] not in commands:
        print("usage: python -m devstack up|down|status", file=sys.stderr)
        return 2
    return commands[argv[0]]()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
