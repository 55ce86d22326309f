"""The dashboard (orders by status, the fleet at a glance, failures) and the fleet page.

Its three API calls (counts by status, failed orders, workers) go out together.
"""

import concurrent.futures
import urllib.parse

import bottle

from cardshop.states import ORDER

FAILED = sorted(ORDER.failed)
# Slot fields shown first (as GET /workers gives a writer host's `slot_states`); any others follow.
SLOT_FIELDS = ("number", "state", "message", "card", "task", "order", "step", "percent", "rate")
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="api-calls")
HOSTS_PER_PAGE = 50  # worker hosts a page shows (each writer host with all its slots)


def slots_of(worker):
    """A writer host's slots (`slot_states` of GET /workers), or [] for a worker without slots."""
    slots = worker.get("slot_states")
    if not isinstance(slots, list):
        return []
    return [slot for slot in slots if isinstance(slot, dict)]


def _shown(name, value):
    if name == "card" and isinstance(value, dict):  # {size, serial}
        size = value.get("size")
        text = f"{size / 1e9:.1f} GB" if isinstance(size, (int, float)) else "?"
        return text + (f", serial {value['serial']}" if value.get("serial") else "")
    return value


def slot_fields(slot):
    """(name, value) pairs of a slot, the known ones first, whatever the writer sent."""
    known = [(name, _shown(name, slot[name])) for name in SLOT_FIELDS if slot.get(name) not in (None, "")]
    return known + sorted((name, value) for name, value in slot.items()
                          if name not in SLOT_FIELDS and value not in (None, "", [], {}))


def slot_summary(slot):
    """One line a person reads: 'writing 42 % at 38 MB/s' (a busy slot is named by its step)."""
    state = slot.get("state", "?")
    parts = [str(slot.get("step") or state if state == "busy" else state)]
    if slot.get("percent") is not None:
        parts.append(f"{slot['percent']} %")
    if slot.get("rate"):
        rate = slot["rate"]
        parts.append(f"at {rate / 1e6:.0f} MB/s" if isinstance(rate, (int, float)) else f"at {rate}")
    return " ".join(parts)


def fleet(session, web, page=1):
    """The page's worker hosts (in name order) and where it is: {creators, writers, host_page, host_pages,
    hosts (how many in all), hosts_per_page} (names the dashboard's own template variables leave free)."""
    body = web.api_body(session, session.get(f"/workers?per_page={HOSTS_PER_PAGE}&page={page}"), "list the workers")
    workers = body["items"]
    return {"creators": [worker for worker in workers if worker.get("role") == "creator"],
            "writers": [worker for worker in workers if worker.get("role") != "creator"],
            "host_page": page, "host_pages": max(1, -(-body["total"] // HOSTS_PER_PAGE)), "hosts": body["total"],
            "hosts_per_page": HOSTS_PER_PAGE}


def page_asked():
    """The fleet page asked for (`?page=N`); 1 when absent or not a page number."""
    asked = bottle.request.query.get("page", "1")
    return int(asked) if asked.isdigit() and 0 < int(asked) <= 100000 else 1


def install(app, web):
    operators = ("admin", "manager")

    @app.get("/")
    @web.page(operators)
    def dashboard(session):
        counts = _POOL.submit(session.get, "/stats/orders")
        failures = _POOL.submit(session.get, "/orders?" + urllib.parse.urlencode(
            {"status": ",".join(FAILED), "per_page": 10}))
        fleet_page_one = fleet(session, web)
        totals = web.api_body(session, counts.result(), "count orders")["by_status"]
        failed = web.api_body(session, failures.result(), "list failed orders")
        failed_link = "/orders?" + urllib.parse.urlencode([("status", status) for status in FAILED])
        return web.render("dashboard.tpl", session, totals=totals, failed=failed, **fleet_page_one, paged=False,
                          failed_total=sum(totals.get(status, 0) for status in FAILED), failed_link=failed_link,
                          slots_of=slots_of, slot_summary=slot_summary)

    @app.get("/fleet")
    @web.page(operators)
    def fleet_page(session):
        shown = fleet(session, web, page_asked())
        warehouses = None
        if session.is_admin:
            warehouses = web.api_body(session, session.get("/warehouses?per_page=200"), "list warehouses")["items"]
        return web.render("fleet.tpl", session, **shown, paged=True, warehouses=warehouses,
                          slots_of=slots_of, slot_fields=slot_fields, slot_summary=slot_summary)
