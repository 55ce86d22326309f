"""make demo: bring the stack up, use it as an operator would, show what happened.

Users of every role, a warehouse, an order checked and recorded, workers
logging into RabbitMQ through the scheduler, then a generated recipe (base
image, files, an archive) built by the creator into the warehouse, fetched
back and checked; then a physical order of two cards of that recipe written by
the stack's writer host: blank cards inserted as an operator would (a too small
one first, which the slot refuses), each card checked against the image at
the end, and the order shipped. Stops what it started.
"""

import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time

import amqp

from cardshop.client import ApiClient, ApiUnreachable
from cardshop.client.warehouse import WarehouseClient
from devstack import __main__ as stack
from devstack import cards, samples, servers, writer_host
from devstack.processes import StackError

STEP = 0
STARTED = ("created", "creating")  # a create task still to finish


def step(text):
    global STEP
    STEP += 1
    print(f"\n[{STEP}] {text}")


def check(reply, expected=(200, 201, 204)):
    if reply.status not in expected:
        raise SystemExit(f"demo failed: HTTP {reply.status}: {reply.error}")
    return reply.body


def log_in(client, credentials):
    """POST /auth/authorize, again while the scheduler is busy checking passwords: just after `make up`
    every worker of the stack logs in at once."""
    try:
        return servers.log_in(client.base_url, credentials)
    except StackError as exc:
        raise SystemExit(f"demo failed: {exc}") from None


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


def wait_for(what, probe, timeout=60):
    """probe()'s first true value, polled; the demo fails saying `what` did not happen in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.5)
    raise SystemExit(f"demo failed: {what} (waited {timeout} s)")


def follow(client, order_id, timeout=300, quiet=False):
    """Print the order's and its create task's progress until the task ends."""
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
        if order["status"] not in STARTED:
            return order
        time.sleep(0.5)
    raise SystemExit("demo failed: the order did not finish in time")


def run(state):
    api = ApiClient(state["api_url"])
    step(f"Log in as {state['admin']['username']} (POST /auth/authorize)")
    pair = log_in(api, state["admin"])
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
    manager = ApiClient(state["api_url"], log_in(api, people["manager"])["access_token"])
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

    write_cards(state, manager, recipe)

    print("\nWhere to look:")
    print(f"    API            {state['api_url']}  (OpenAPI: {state['api_url']}/openapi.json)")
    for name, path in state["logs"].items():
        print(f"    {name:14} {path}")
    print("    CLI            .venv/bin/python daemons/cardshop --api URL login admin")
    print(f"    Manager (web)  {state['manager_url']}  log in as {state['admin']['username']} (password: "
          f"`jq -r .admin.password {stack.STATE}`; `make up` keeps it running)")


# -- the writer host: cards inserted, written, checked ------------------------

def writer_of(client, username):
    """The writer host `username` as GET /workers shows it (one item with its slot_states), or None."""
    items = check(client.get("/workers?per_page=100"))["items"]
    return next((item for item in items if item.get("username") == username and "slot_states" in item), None)


def host_when(client, username, test):
    """The writer host once test(its slot_states) holds, else None."""
    host = writer_of(client, username)
    return host if host and test(host["slot_states"]) else None


def slot_in(client, username, number, states):
    """Slot `number` of the writer host once its state is one of `states`, else None."""
    host = writer_of(client, username)
    slot = next((slot for slot in (host or {}).get("slot_states", []) if slot["number"] == number), None)
    return slot if slot and slot["state"] in states else None


def show_slots(host):
    for slot in host["slot_states"]:
        print(f"    slot {slot['number']}: {slot['state']:<8} {slot.get('message') or ''}".rstrip())


def write_tasks(order):
    return [task for task in order["tasks"] if task["kind"] == "write"]


def insert_card(slot, size, made):
    """A blank card of `size` into the slot, through the code `make card-insert` runs; its backing file."""
    try:
        path = writer_host.insert_card(stack.STATE, slot, size, os.path.join(stack.BASE, "cards"))
    except StackError as exc:
        raise SystemExit(f"demo failed: make card-insert SLOT={slot} SIZE={size}: {exc}") from None
    made.append(path)
    print(f"    make card-insert SLOT={slot} SIZE={size}: {os.path.relpath(path)}")
    return path


def remove_card(slot):
    try:
        path = writer_host.remove_card(stack.STATE, slot)
    except StackError as exc:
        raise SystemExit(f"demo failed: make card-remove SLOT={slot}: {exc}") from None
    print(f"    make card-remove SLOT={slot}: {os.path.relpath(path)} taken out")


def requeues(order):
    """Each write task's latest `requeued` entry (its card failed), by task id."""
    return {task["_id"]: [entry for entry in task["statuses"] if entry["status"] == "requeued"][-1:]
            for task in write_tasks(order)}


def follow_writes(client, order_id, before, username, timeout=300):
    """Print the write tasks' progress and each slot's state as they change, until the order's cards are all
    written (pending_shipment).

    A slot that refuses or fails a card, or a task handed back again (`requeues` differing from `before`),
    fails the demo at once with the slot's reason: these cards are good.
    """
    seen, slots_seen, deadline = None, {}, time.monotonic() + timeout
    while time.monotonic() < deadline:
        order = check(client.get(f"/orders/{order_id}"))
        parts = []
        for task in write_tasks(order):
            progress, text = task.get("progress") or {}, task["status"]
            if task["status"] in ("downloading", "writing", "verifying") and progress.get("step") == task["status"]:
                text += f" {progress.get('percent', 0):5.1f}%"
            parts.append(f"task …{task['_id'][-4:]} {text:<16}")
        line = f"order {order['status']:<16} " + " ".join(parts)
        if line != seen:
            print("    " + line.rstrip())
            seen = line
        for slot in (writer_of(client, username) or {}).get("slot_states", []):
            said = f"{slot['state']}: {slot.get('message') or ''}".rstrip(": ")
            if slots_seen.get(slot["number"]) != said:
                print(f"      slot {slot['number']} {said}")
                slots_seen[slot["number"]] = said
            if slot["state"] in ("refused", "failed"):
                log = os.path.join(stack.BASE, writer_host.FOLDER, f"writer-{slot['number']}.log")
                raise SystemExit(f"demo failed: slot {slot['number']} {slot['state']} a good card: "
                                 f"{slot.get('message') or 'no reason given'} (its log: {log})")
        if order["status"] == "pending_shipment":
            return order
        if order["status"] not in ("pending_writer", "writing"):
            raise SystemExit(f"demo failed: order {order['status']}: {order['statuses'][-1].get('note')}")
        again = [entries[0] for task_id, entries in requeues(order).items() if entries != before.get(task_id, [])]
        if again:
            raise SystemExit(f"demo failed: a good card did not take its task: {again[0].get('note')}")
        time.sleep(0.25)
    raise SystemExit("demo failed: the cards were not written in time")


def first_bytes_sha256(path, size):
    digest, left = hashlib.sha256(), size
    with open(path, "rb") as handle:
        while left:
            chunk = handle.read(min(left, 8 * 1024 * 1024))
            if not chunk:
                break
            digest.update(chunk)
            left -= len(chunk)
    return digest.hexdigest()


def write_cards(state, manager, recipe):
    """Steps with the writer host of `make up`: the cards of a physical order, from blank to shipped."""
    host = state.get("writer_host")
    if not host or len(state.get("slots") or []) < 2:
        raise SystemExit("demo failed: the stack has no writer host with 2 slots; "
                         "`make down`, then `make demo` (or `make up SLOTS=2`)")
    username, inserted, made = host["username"], {}, []
    for item in state["slots"][:2]:
        if cards.backing_file(item["device"]):
            raise SystemExit(f"demo failed: slot {item['slot']} of the running stack holds a card; "
                             f"`make card-remove SLOT={item['slot']}` first")
    try:
        _write_cards(manager, username, recipe, inserted, made)
    finally:  # a stack the demo did not start gets its slots back empty, even when a step failed
        for slot, path in inserted.items():
            device = next(item["device"] for item in state["slots"] if item["slot"] == slot)
            if cards.backing_file(device) == path:
                cards.remove(device)
        for path in made:  # checked by the demo itself: no need to keep them, unlike make card-insert's
            if path not in (cards.backing_file(item["device"]) for item in state["slots"]):
                os.unlink(path)


def _write_cards(manager, username, recipe, inserted, made):
    step(f"The writer host {username} is live, its slots empty (GET /workers: slot_states)")
    host = wait_for(f"{username} did not show 2 empty slots in GET /workers", lambda: host_when(
        manager, username, lambda slots: sum(slot["state"] == "empty" for slot in slots) >= 2))
    print(f"    {host['_id']}: {'online' if host.get('online') else 'OFFLINE'}, {host['slots']} slots")
    show_slots(host)

    step("The manager orders two 1 GB cards of that recipe (physical); the creator builds the image")
    order = check(manager.post("/orders", {
        "recipe": recipe, "sd_card": {"size": 1, "type": "physical"}, "quantity": 2,
        "recipient": {"name": "Ada Lovelace", "email": "ada@example.org", "address": "12 St James's Sq, London"}}))
    built = follow(manager, order["_id"])
    if built["status"] not in ("pending_writer", "writing"):
        raise SystemExit(f"demo failed: order {built['status']}: {built['statuses'][-1].get('note')}")
    image = built["image"]
    tasks = wait_for("the order's two write tasks were not made", lambda: (
        lambda found: len(found) == 2 and found)(write_tasks(check(manager.get(f"/orders/{order['_id']}")))))
    print(f"    image {image['image_size']} bytes, sha256 {image['sha256'][:16]}…")
    for task in tasks:
        print(f"    write task {task['_id']}: {task['status']}, queued for writer host {task.get('writer')}")
    if any(task.get("writer") != username for task in tasks):
        raise SystemExit(f"demo failed: the write tasks did not go to {username}")

    step("Insert a blank card too small for the image into slot 1: the slot refuses it")
    inserted[1] = insert_card(1, "512M", made)
    slot = wait_for("slot 1 did not refuse the small card", lambda: slot_in(manager, username, 1, ("refused",)))
    print(f"    slot 1 {slot['state']}: {slot['message']}")
    requeued = wait_for("the refused task did not go back to the queue", lambda: next(
        (task for task in write_tasks(check(manager.get(f"/orders/{order['_id']}"))) if task["status"] == "requeued"),
        None))
    print(f"    write task {requeued['_id']}: {requeued['status']} (back in write.{username}, waiting for a card)")
    before = requeues(check(manager.get(f"/orders/{order['_id']}")))

    step("Take the small card out and insert a 2 GB card; a 2 GB card into slot 2 too")
    remove_card(1)
    wait_for("slot 1 did not become empty", lambda: slot_in(manager, username, 1, ("empty",)))
    print("    slot 1: empty")
    inserted[1] = insert_card(1, "2G", made)
    inserted[2] = insert_card(2, "2G", made)

    step("The slots check the cards and write them; follow the write tasks (GET /orders/{id})")
    done = follow_writes(manager, order["_id"], before, username)
    for task in write_tasks(done):
        print(f"    task …{task['_id'][-4:]}: " + " → ".join(entry["status"] for entry in task["statuses"]))
    for card in sorted(done["cards"], key=lambda card: card["slot"]):
        print(f"    card: host {card['host']}, slot {card['slot']}, serial {card.get('serial') or '- (none)'}, "
              f"{card.get('size')} bytes, task {card['task']}")

    step("Check each card: its first image-size bytes hash to the image's sha256; then take the cards out")
    for card in sorted(done["cards"], key=lambda card: card["slot"]):
        path = inserted[card["slot"]]
        ok = first_bytes_sha256(path, image["image_size"]) == image["sha256"]
        print(f"    slot {card['slot']} ({os.path.relpath(path)}): {'matches' if ok else 'DOES NOT MATCH'}")
        if not ok:
            raise SystemExit(f"demo failed: the card in slot {card['slot']} does not hold the image")
    for slot in sorted(inserted):
        remove_card(slot)
    show_slots(wait_for("the slots did not become empty", lambda: host_when(
        manager, username, lambda slots: all(slot["state"] == "empty" for slot in slots))))

    step("Ship the order with its tracking number (POST /orders/{id}/ship)")
    shipped = check(manager.post(f"/orders/{order['_id']}/ship", {
        "carrier": "La Poste", "tracking_number": "6A12345678901"}))
    print(f"    order {shipped['status']}: {shipped['shipment']['carrier']} "
          f"{shipped['shipment']['tracking_number']}, {len(shipped['cards'])} cards")


def main():
    was_up = os.path.exists(stack.STATE) and stack.all_running()
    if not was_up and stack.up() != 0:
        return 1
    try:
        with open(stack.STATE) as handle:
            run(json.load(handle))
    except ApiUnreachable as exc:
        raise SystemExit(f"demo failed: {exc}") from None
    finally:
        if not was_up:
            print("\nStopping the stack the demo started (make up keeps one running).")
            stack.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
