"""`cardshop fleet`: the worker hosts, each writer host's slots, and what each is doing."""

from cardshop.cli.common import show, table
from cardshop.pipeline.progress import size_text


def slot_rows(host):
    rows = []
    for slot in host.get("slot_states") or []:
        card = slot.get("card") or {}
        rows.append({"host": host["_id"], "slot": slot["number"], "state": slot.get("state", "?"),
                     "order": slot.get("order") or "-",
                     "card": f"{card['size'] / 1e9:.0f} GB" if card.get("size") else "-",
                     "progress": (f"{slot.get('step') or ''} {slot['percent']:.0f}%".strip()
                                  if slot.get("percent") is not None else "-"),
                     "rate": f"{size_text(slot['rate'])}/s" if isinstance(slot.get("rate"), (int, float))
                     and slot["rate"] > 0 else "-",
                     "online": "yes" if slot.get("online") else "no",
                     "message": slot.get("message") or ""})
    return rows


def _fleet_text(hosts):
    lines = [table([{"host": host["_id"], "role": host.get("role", "?"), "online": "yes" if host.get("online") else "no",
                     "slots": host.get("slots", "-"), "last seen": host.get("last_seen", "-"),
                     "tasks": len(host.get("current_tasks") or [])} for host in hosts],
                   ["host", "role", "online", "slots", "last seen", "tasks"])]
    slots = [row for host in hosts for row in slot_rows(host)]
    if slots:
        lines += ["", table(slots, ["host", "slot", "state", "order", "card", "progress", "rate", "online",
                                    "message"])]
    return "\n".join(lines)


def cmd_fleet(session, args):
    hosts, page = [], 1
    while True:  # every page: a fleet is hundreds of hosts at most
        reply = session.call("GET", f"/workers?page={page}&per_page=200")
        hosts += reply["items"]
        if page * reply["per_page"] >= reply["total"] or not reply["items"]:
            break
        page += 1
    show(args, {"items": hosts, "total": len(hosts)}, lambda value: _fleet_text(value["items"]))


def add_commands(commands):
    commands.add_parser("fleet", help="worker hosts and each writer slot's state").set_defaults(func=cmd_fleet)

