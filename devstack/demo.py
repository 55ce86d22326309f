"""make demo: bring the stack up, use it as an operator would, show what happened.

Users of every role, a warehouse, an order checked and recorded, workers
logging into RabbitMQ through the scheduler, then a generated recipe (base
image, files, an archive) built by the creator into the warehouse, fetched
back and checked. Stops what it started.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

import amqp

from cardshop.client import ApiClient
from cardshop.client.warehouse import WarehouseClient
from devstack import __main__ as stack
from devstack import samples

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


def follow(client, order_id, timeout=300, quiet=False):
    """Print the order's and its create task's progress until it ends."""
    seen, deadline = None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        order = check(client.get(f"/orders/{order_id}"))
        task = next(t for t in order["tasks"] if t["kind"] == "create")
        progress = task.get("progress") or {}
        line = f"order {order['status']:<16} task {task['status']:<12}"
        if progress and task["status"] not in ("done", "failed", "canceled"):
            line += f" {progress.get('step', ''):<12} {progress.get('percent', 0):5.1f}%"
        if line != seen and not quiet:
            print("    " + line)
            seen = line
        if order["status"] in ("ready", "creation_failed", "canceled"):
            return order
        time.sleep(0.5)
    raise SystemExit("demo failed: the order did not finish in time")


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
    reply = api.post("/warehouses", {"name": "main", "upload_url": state["ftp_url"],
                                     "download_url": state["ftp_url"], "default": True})
    if reply.status == 409:
        check(api.patch("/warehouses/main", {"upload_url": state["ftp_url"], "download_url": state["ftp_url"]}))
    else:
        check(reply)
    print(f"    main: {state['ftp_url']}")

    step("The manager places an order for two 4 GB cards (POST /orders)")
    manager = ApiClient(state["api_url"], check(api.post("/auth/authorize", people["manager"]))["access_token"])
    order = check(manager.post("/orders", {
        "recipe": {"output": {"size": "3G"},
                   "files": [{"to": "/data/welcome.txt", "content": "Welcome to your Cardshop card!"},
                             {"to": "/data/zims/wikipedia_en_simple.zim",
                              "url": f"{state['content_url']}/not-there/wikipedia_en_simple.zim",
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

    step("The creator's preflight refuses the first order: its URL does not answer")
    first = follow(manager, order["_id"], quiet=True)
    print(f"    order {first['status']}: {first['statuses'][-1].get('note')}")
    canceled = check(manager.post(f"/orders/{order['_id']}/cancel", {"reason": "demo: replaced by the next one"}))
    print(f"    canceled by the manager: order {canceled['status']} (POST /orders/{{id}}/cancel)")

    step("Make sample content: a base image and files, served over HTTP with Range support")
    content = state["content_dir"]
    base = samples.make_base_image(content, "demo-base.img")
    zim = samples.make_random_file(content, "demo-wikipedia.zim", 24 * 1024 * 1024)
    archive = samples.make_targz(content, "demo-conf.tar.gz", {"hotspot.conf": b"ssid=Cardshop\n"})
    recipe = {
        "base": {"source": f"{state['content_url']}/demo-base.img.xz", "checksum": samples.checksum(base)},
        "output": {"size": "auto"},
        "files": [
            {"to": "/data/zims/wikipedia.zim", "url": f"{state['content_url']}/demo-wikipedia.zim",
             "checksum": samples.checksum(zim), "via": "direct"},
            {"to": "/data/conf", "url": f"{state['content_url']}/demo-conf.tar.gz",
             "checksum": samples.checksum(archive), "via": "gztar"},
            {"to": "/data/message.txt", "content": "Built by the Cardshop demo."},
        ],
    }
    print(f"    {len(recipe['files'])} files, base image {os.path.getsize(base)} bytes (xz), output size auto")

    step("Order a download image of it and follow the creator (GET /orders/{id})")
    order = check(manager.post("/orders", {
        "recipe": recipe, "sd_card": {"size": 1, "type": "download"}, "quantity": 1,
        "recipient": {"name": "Ada Lovelace", "email": "ada@example.org", "address": "-"}}))
    built = follow(manager, order["_id"])
    if built["status"] != "ready":
        raise SystemExit(f"demo failed: {built['statuses'][-1].get('note')}")

    step("Fetch the image back from the warehouse and check it")
    final = check(manager.get(f"/orders/{order['_id']}"))
    image = final["image"]
    with tempfile.TemporaryDirectory() as scratch:
        with WarehouseClient(state["ftp_url"], state["admin"]["username"], api.token) as client:
            for remote in image["files"].values():
                client.download(remote, os.path.join(scratch, os.path.basename(remote)))
        raw = os.path.join(scratch, "image.img")
        subprocess.run(["zstd", "-dq", os.path.join(scratch, os.path.basename(image["files"]["image"])),
                        "-o", raw], check=True)
        ok = samples.sha256_of(raw) == image["sha256"]
        wiki, table = samples.read_data_partition_file(raw, "/zims/wikipedia.zim", scratch)
        print(f"    {', '.join(image['files'].values())}")
        print(f"    image {image['image_size']} bytes for a {image['card_size']} GB card, "
              f"{image['compressed_size']} compressed; sha256 {'matches' if ok else 'DOES NOT MATCH'}")
        print("    partitions: " + ", ".join(f"type {p['type']} at sector {p['start']}" for p in table["partitions"]))
        print(f"    /data/zims/wikipedia.zim read back without mounting: "
              f"{'identical' if hashlib.sha256(wiki).hexdigest() == samples.sha256_of(zim) else 'DIFFERENT'}")

    print("\nWhere to look:")
    print(f"    API            {state['api_url']}  (OpenAPI: {state['api_url']}/openapi.json)")
    for name, path in state["logs"].items():
        print(f"    {name:14} {path}")
    print("    CLI            .venv/bin/python daemons/cardshop --api URL login admin")
    print(f"    Manager (web)  {state['manager_url']}  log in as {state['admin']['username']} / "
          f"{state['admin']['password']} (`make up` keeps it running)")


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
