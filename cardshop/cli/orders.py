"""`cardshop order ...` and `cardshop recipe ...`: place, follow, retry, ship and export orders; keep recipes."""

import json
import sys
import time
import urllib.parse

from cardshop.cli.common import EX_REFUSED, EX_USAGE, CliError, dump_yaml, read_yaml, show, table
from cardshop.pipeline.progress import LiveBlock, bar, progress_line
from cardshop.states.tasks import WORKING

DELIVERED = {"pending_shipment", "shipped", "ready"}  # what `order watch` waits for
ENDED_BADLY = {"creation_failed", "write_failed", "canceled", "expired"}


def recipe_of(document, path):
    """The recipe in a file: a bare recipe, or what `recipe export` / `order export` wrote (under `recipe`)."""
    recipe = document.get("recipe", document)
    if not isinstance(recipe, dict):
        raise CliError(f"{path}: 'recipe' must be a mapping", EX_USAGE)
    return recipe


def recipient(text):
    """NAME,EMAIL,ADDRESS (the address may hold commas)."""
    parts = [part.strip() for part in text.split(",", 2)]
    if len(parts) != 3 or not all(parts):
        raise CliError("--to must be NAME,EMAIL,ADDRESS (e.g. 'Ann Lee,ann@example.org,1 Main St, Springfield')",
                       EX_USAGE)
    return dict(zip(("name", "email", "address"), parts))


def _order_text(order):
    lines = [f"order {order['_id']}: {order['status']}",
             f"  card: {order['sd_card']['size']} GB {order['sd_card']['type']} x{order['quantity']}",
             f"  recipient: {order['recipient']['name']} <{order['recipient']['email']}>",
             f"  warehouse: {order.get('warehouse', '-')}"]
    image = order.get("image") or {}
    if image.get("image_size"):
        lines.append(f"  image: {image['image_size'] / 1e9:.2f} GB")
    source = order.get("image_source")
    if source:
        lines.append(f"  image made by: order {source['order']}"
                     + (f" (auto-image {source['auto_image']})" if source.get("auto_image") else ""))
    for card in order.get("cards") or []:
        lines.append(f"  card written: {card}")
    lines.append("  history:")
    lines += [f"    {entry['at']}  {entry['status']:<16} by {entry['by']}"
              + (f"  ({entry['note']})" if entry.get("note") else "") for entry in order["statuses"]]
    if order.get("tasks"):
        lines.append("  tasks:")
        lines += [f"    {task_line(task)}" for task in order["tasks"]]
    return "\n".join(lines)


def task_line(task):
    """One task: id, kind, status, worker, and while it works a progress bar and the progress line the
    manager shows too (step, %, bytes, rate, time left)."""
    line = f"{task['_id']}  {task['kind']:<6} {task['status']:<16} {task.get('worker') or '-'}"
    progress = task.get("progress") or {}
    if task["status"] in WORKING and progress:
        line += f"  {bar(progress.get('percent'))} {progress_line(progress)}"
    return line


# -- orders ---------------------------------------------------------------------------

def cmd_order_place(session, args):
    if sum(map(bool, (args.recipe, args.kept, args.auto_image, args.image_of))) != 1:
        raise CliError("give one of: a recipe file, --kept RECIPE_ID, --auto-image NAME, --image-of ORDER_ID",
                       EX_USAGE)
    if args.rebuild and not args.auto_image:
        raise CliError("--rebuild goes with --auto-image (to build its recipe again)", EX_USAGE)
    to = recipient(args.to)  # what is wrong here is said before the recipe is read
    body = {"sd_card": {"size": args.card, "type": "download" if args.download else "physical"},
            "quantity": args.quantity, "recipient": to}
    if args.warehouse:
        body["warehouse"] = args.warehouse
    if args.image_of:  # the image that order made, written at once
        body["image_of"] = args.image_of
    elif args.auto_image and not args.rebuild:  # its latest build, written at once
        body["auto_image"] = args.auto_image
    elif args.kept:
        body["recipe"] = session.call("GET", f"/recipes/{urllib.parse.quote(args.kept, safe='')}")["recipe"]
    elif args.auto_image:  # --rebuild: its recipe, as its latest build had it, built again
        built = session.call("GET", f"/auto-images/{urllib.parse.quote(args.auto_image, safe='')}")
        body["recipe"] = session.call("GET", f"/orders/{built['order']}")["recipe"]
    else:
        body["recipe"] = recipe_of(read_yaml(args.recipe, "a recipe"), args.recipe)
    order = session.call("POST", "/orders", body)
    show(args, order, _placed_text)


def _placed_text(order):
    text = f"placed order {order['_id']} ({order['status']})"
    source = order.get("image_source")
    if source:
        origin = f"auto-image {source['auto_image']} (order {source['order']})" if source.get("auto_image") \
            else f"order {source['order']}"
        then = "its image is ready to download" if order["status"] == "ready" else "its cards go to the writers now"
        text += f" of the image of {origin}, already made: no new build, {then}"
    return text + f"; follow it with `cardshop order watch {order['_id']}`"


def cmd_order_list(session, args):
    query = {key: value for key, value in (("status", args.status), ("after", args.after)) if value}
    page = session.call("GET", "/orders" + (f"?{urllib.parse.urlencode(query)}" if query else ""))
    rows = [{"id": o["_id"], "status": o["status"], "card": f"{o['sd_card']['size']}GB {o['sd_card']['type']}",
             "qty": o["quantity"], "recipient": o["recipient"]["name"], "created": o["created_at"]}
            for o in page["items"]]
    show(args, page, lambda p: table(rows, ["id", "status", "card", "qty", "recipient", "created"])
         + (f"\n(older orders: --after {p['next']})" if p["next"] else ""))


def cmd_order_show(session, args):
    show(args, session.call("GET", f"/orders/{args.id}"), _order_text)


def cmd_order_watch(session, args):
    """Print the order's status and each task's progress as they change, until it is delivered (exit 0) or
    ends otherwise (exit 1); with --json, one JSON document per change."""
    deadline = time.monotonic() + args.timeout if args.timeout else None
    shown, live = None, LiveBlock(sys.stdout) if sys.stdout.isatty() and not args.json else None
    while True:
        order = session.call("GET", f"/orders/{args.id}")
        lines = [f"order {order['_id']}: {order['status']}"] + [f"  {task_line(task)}" for task in
                                                                 order.get("tasks") or []]
        if live is not None:  # a terminal: the block is redrawn in place, bars and all
            live.draw(lines)
        elif lines != shown:
            print(json.dumps(order) if args.json else "\n".join(lines), flush=True)
        shown = lines
        if order["status"] in DELIVERED:
            return
        if order["status"] in ENDED_BADLY:
            note = (order["statuses"][-1].get("note") if order.get("statuses") else None) or "no reason given"
            raise CliError(f"order {order['_id']} is {order['status']}: {note}", EX_REFUSED)
        if deadline is not None and time.monotonic() > deadline:
            raise CliError(f"order {order['_id']} is still {order['status']} after {args.timeout} s", EX_REFUSED)
        time.sleep(args.every)


def cmd_order_cancel(session, args):
    body = {"reason": args.reason} if args.reason else {}
    order = session.call("POST", f"/orders/{args.id}/cancel", body)
    show(args, order, lambda o: f"order {o['_id']} is {o['status']}")


def cmd_order_retry(session, args):
    body = {"reason": args.reason} if args.reason else {}
    order = session.call("POST", f"/orders/{args.id}/retry", body)
    show(args, order, lambda o: f"order {o['_id']} is {o['status']} again")


def cmd_order_ship(session, args):
    body = {"carrier": args.carrier, "tracking_number": args.tracking_number}
    body.update({key: value for key, value in (("tracking_url", args.tracking_url), ("note", args.note)) if value})
    order = session.call("POST", f"/orders/{args.id}/ship", body)
    show(args, order, lambda o: f"order {o['_id']} is {o['status']}")


def cmd_order_export(session, args):
    order = session.call("GET", f"/orders/{args.id}")
    write_out(args, {"recipe": order["recipe"]})


# -- recipes ----------------------------------------------------------------------------

def cmd_recipe_list(session, args):
    page = session.call("GET", f"/recipes?page={args.page}")
    rows = [{"id": r["_id"], "name": r["name"], "size": f"{r['recipe']['output']['size']}",
             "files": len(r["recipe"].get("files") or [])} for r in page["items"]]
    show(args, page, lambda p: table(rows, ["id", "name", "size", "files"])
         + f"\n({p['total']} recipes, page {p['page']})")


def cmd_recipe_show(session, args):
    kept = session.call("GET", f"/recipes/{args.id}")
    show(args, kept, lambda r: dump_yaml({key: r[key] for key in ("_id", "name", "description", "recipe")
                                          if key in r}).rstrip())


def cmd_recipe_import(session, args):
    document = read_yaml(args.file, "a recipe")
    name = args.name or document.get("name")
    if not name:
        raise CliError(f"{args.file} has no 'name': give --name", EX_USAGE)
    body = {"name": name, "recipe": recipe_of(document, args.file)}
    description = args.description if args.description is not None else document.get("description")
    if description:
        body["description"] = description
    kept = session.call("POST", "/recipes", body)
    show(args, kept, lambda r: f"kept recipe {r['_id']} ({r['name']})")


def cmd_recipe_export(session, args):
    kept = session.call("GET", f"/recipes/{args.id}")
    write_out(args, {key: kept[key] for key in ("name", "description", "recipe") if key in kept})


def write_out(args, document):
    """YAML to --output (a file) or standard output; `order place` and `recipe import` read it back."""
    text = json.dumps(document, indent=2) if args.json else dump_yaml(document)
    if not args.output:
        sys.stdout.write(text)
        return
    try:
        with open(args.output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise CliError(f"cannot write {args.output}: {exc.strerror}", EX_USAGE) from None
    print(f"wrote {args.output}", file=sys.stderr)


def add_commands(commands):
    order = commands.add_parser("order", help="place, follow, retry, ship and cancel orders").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    place = order.add_parser("place", help="place an order from a recipe file (YAML or JSON), a kept recipe, or "
                                           "an image made before (an order's, an auto-image's)")
    place.add_argument("recipe", nargs="?", help="recipe file: a recipe, or what `recipe export` wrote")
    place.add_argument("--kept", metavar="RECIPE_ID", help="a kept recipe instead of a file")
    place.add_argument("--auto-image", metavar="NAME", help="the image of an auto-image's latest build, written "
                                                            "at once (with --rebuild: its recipe, built again)")
    place.add_argument("--image-of", metavar="ORDER_ID", help="the image an order made, written at once")
    place.add_argument("--rebuild", action="store_true", help="with --auto-image: build its recipe again")
    place.add_argument("--card", type=int, required=True, metavar="GB", help="card size in decimal GB as sold")
    place.add_argument("--quantity", type=int, default=1)
    place.add_argument("--download", action="store_true", help="an image to download, not physical cards")
    place.add_argument("--to", required=True, metavar="NAME,EMAIL,ADDRESS", help="the recipient")
    place.add_argument("--warehouse", help="warehouse name (default: the default one)")
    place.set_defaults(func=cmd_order_place)
    olist = order.add_parser("list", help="list orders, newest first")
    olist.add_argument("--status", help="one status or several, comma-separated")
    olist.add_argument("--after", help="where the page starts: what the page before printed (its 'next')")
    olist.set_defaults(func=cmd_order_list)
    for name, func, text in (("show", cmd_order_show, "show an order with its tasks, cards and history"),
                             ("watch", cmd_order_watch, "follow an order until its cards are written or its "
                                                        "image is ready (exit 0) or it fails (exit 1)"),
                             ("cancel", cmd_order_cancel, "cancel an order"),
                             ("retry", cmd_order_retry, "try a failed order's failed step again"),
                             ("ship", cmd_order_ship, "record that an order's cards left"),
                             ("export", cmd_order_export, "write an order's recipe as YAML (to place it again)")):
        sub = order.add_parser(name, help=text)
        sub.add_argument("id")
        sub.set_defaults(func=func)
        if name == "watch":
            sub.add_argument("--every", type=float, default=2.0, help="seconds between looks (default 2)")
            sub.add_argument("--timeout", type=float, help="give up (exit 1) after this many seconds")
        elif name in ("cancel", "retry"):
            sub.add_argument("--reason")
        elif name == "ship":
            sub.add_argument("--carrier", required=True)
            sub.add_argument("--tracking-number", required=True)
            sub.add_argument("--tracking-url")
            sub.add_argument("--note")
        elif name == "export":
            sub.add_argument("--output", "-o", help="file to write (default: standard output)")

    recipe = commands.add_parser("recipe", help="keep recipes to order from").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    rlist = recipe.add_parser("list", help="list kept recipes, by name")
    rlist.add_argument("--page", type=int, default=1)
    rlist.set_defaults(func=cmd_recipe_list)
    rshow = recipe.add_parser("show", help="show a kept recipe")
    rshow.add_argument("id")
    rshow.set_defaults(func=cmd_recipe_show)
    rimport = recipe.add_parser("import", help="keep the recipe of a file (YAML or JSON)")
    rimport.add_argument("file")
    rimport.add_argument("--name", help="default: the file's 'name'")
    rimport.add_argument("--description")
    rimport.set_defaults(func=cmd_recipe_import)
    rexport = recipe.add_parser("export", help="write a kept recipe as YAML (for `recipe import`, `order place`)")
    rexport.add_argument("id")
    rexport.add_argument("--output", "-o", help="file to write (default: standard output)")
    rexport.set_defaults(func=cmd_recipe_export)
