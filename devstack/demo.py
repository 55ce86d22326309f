"""make demo: bring the stack up, use it as an operator would, show what happened.

For now (the scheduler foundation): users of every role, a warehouse, an
order checked and recorded with its create task, a worker logging into
RabbitMQ through the scheduler, and a refused one. Stops what it started.
"""

import json
import os
import sys

import amqp

from cardshop.cli.client import ApiClient
from devstack import __main__ as stack

STEP = 0


def step(text):
    global STEP
    STEP += 1
    print(f"\n[{STEP}] {text}")


def check(reply, expected=(200, 201, 204)):
    if reply.status not in expected:
        raise SystemExit(f"demo failed: HTTP {reply.status}: {reply.error}")
    return reply.body


def broker_login(amqp_url, username, password):
    host = amqp_url.split("//", 1)[1].split("/", 1)[0]
    connection = amqp.Connection(host, userid=username, password=password, virtual_host="cardshop",
                                 connect_timeout=10)
    try:
        connection.connect()
        return True
    except amqp.exceptions.AccessRefused:
        return False
    finally:
        connection.collect()


def run(state):
    api = ApiClient(state["api_url"])
    step(f"Log in as {state['admin']['username']} (POST /auth/authorize)")
    pair = check(api.post("/auth/authorize", state["admin"]))
    api.token = pair["access_token"]
    print(f"    access token valid {pair['expires_in']} s, refresh token single-use")

    step("Create a manager, a creator and a writer host user (POST /users)")
    people = {}
    for role in ("manager", "creator", "writer"):
        username = f"demo-{role}"
        password = f"demo {role} password"
        reply = api.post("/users", {"username": username, "email": f"{username}@example.org",
                                    "password": password, "role": role})
        if reply.status == 409:
            api.post(f"/users/{username}/password", {"password": password})
        else:
            check(reply)
        people[role] = {"username": username, "password": password}
        print(f"    {role:8} {username}")

    step("Add the default warehouse (POST /warehouses)")
    reply = api.post("/warehouses", {"name": "main", "upload_url": "ftp://127.0.0.1:2121/",
                                     "download_url": "ftp://127.0.0.1:2121/", "default": True})
    check(reply, (201, 409))
    print("    main: ftp://127.0.0.1:2121/")

    step("The manager places an order for two 4 GB cards (POST /orders)")
    manager = ApiClient(state["api_url"], check(api.post("/auth/authorize", people["manager"]))["access_token"])
    order = check(manager.post("/orders", {
        "recipe": {"output": {"size": "3G"},
                   "files": [{"to": "/data/welcome.txt", "content": "Welcome to your Cardshop card!"},
                             {"to": "/data/zims/wikipedia_en_simple.zim",
                              "url": "https://download.example.org/zim/wikipedia_en_simple.zim",
                              "checksum": {"algo": "sha256", "value": "0" * 64}}]},
        "sd_card": {"size": 4, "type": "physical"}, "quantity": 2,
        "recipient": {"name": "Ada Lovelace", "email": "ada@example.org", "address": "12 St James's Sq, London"}}))
    print(f"    order {order['_id']}: {order['status']}, create task {order['tasks'][0]['_id']} "
          f"{order['tasks'][0]['status']}")

    step("A recipe that cannot fit is refused with the reason")
    bad = manager.post("/orders", {"recipe": {"output": {"size": "8G"}}, "sd_card": {"size": 4, "type": "physical"},
                                   "quantity": 1, "recipient": {"name": "X", "email": "x@example.org", "address": "-"}})
    print(f"    HTTP {bad.status}: {bad.error}")

    step("Workers log into RabbitMQ; the broker asks the scheduler")
    print(f"    writer  {people['writer']['username']}: "
          f"{'accepted' if broker_login(state['amqp_url'], **people['writer']) else 'REFUSED'}")
    print(f"    wrong password: "
          f"{'accepted' if broker_login(state['amqp_url'], people['writer']['username'], 'guess') else 'refused'}")
    print(f"    manager (no broker role): "
          f"{'accepted' if broker_login(state['amqp_url'], **people['manager']) else 'refused'}")

    step("The order as the API shows it (GET /orders/{id})")
    shown = check(manager.get(f"/orders/{order['_id']}"))
    print("    " + json.dumps({key: shown[key] for key in ("_id", "status", "sd_card", "quantity", "warehouse")}))
    for entry in shown["statuses"]:
        print(f"    history: {entry['at']} {entry['status']} by {entry['by']}")

    step("Cancel it (POST /orders/{id}/cancel)")
    canceled = check(manager.post(f"/orders/{order['_id']}/cancel", {"reason": "demo over"}))
    print(f"    order {canceled['status']}; tasks: {', '.join(t['status'] for t in canceled['tasks'])}")

    print("\nWhere to look:")
    print(f"    API            {state['api_url']}  (OpenAPI: {state['api_url']}/openapi.json)")
    for name, path in state["logs"].items():
        print(f"    {name:14} {path}")
    print("    CLI            .venv/bin/python daemons/cardshop --api URL login admin")


def main():
    was_up = os.path.exists(stack.STATE) and stack.all_running()
    if not was_up and stack.up() != 0:
        return 1
    try:
        with open(stack.STATE) as handle:
            run(json.load(handle))
    finally:
        if not was_up:
            print("\nStopping the stack the demo started (make up keeps one running).")
            stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
