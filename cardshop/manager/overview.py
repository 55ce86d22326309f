"""The dashboard (orders by status, the fleet at a glance, failures) and the fleet page.

Its three API calls (counts by status, failed orders, workers) go out together.
"""

import concurrent.futures
import urllib.parse

import bottle

from cardshop.manager.wording import in_workflow_order, slot_tile
from cardshop.states import ORDER

FAILED = sorted(ORDER.failed)
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="api-calls")
HOSTS_PER_PAGE = 50  # worker hosts a page shows (each writer host with all its slots)


def slots_of(worker):
    """A writer host's slots (`slot_states` of GET /workers), or [] for a worker without slots."""
    slots = worker.get("slot_states")
    if not isinstance(slots, list):
        return []
    return [slot for slot in slots if isinstance(slot, dict)]


def tiles_of(worker):
    """A writer host's slot tiles (wording.slot_tile), each with its task's progress from `current_tasks`."""
    progress = {task.get("_id"): task.get("progress") for task in worker.get("current_tasks") or []
                if isinstance(task, dict)}
    return [slot_tile(slot, progress.get(slot.get("task"))) for slot in slots_of(worker)]


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
        return web.render("dashboard.tpl", session, totals=in_workflow_order(totals), failed=failed,
                          **fleet_page_one, paged=False, failed_total=sum(totals.get(status, 0) for status in FAILED),
                          failed_link=failed_link, tiles_of=tiles_of)

    @app.get("/fleet")
    @web.page(operators)
    def fleet_page(session):
        shown = fleet(session, web, page_asked())
        warehouses = None
        if session.is_admin:
            warehouses = web.api_body(session, session.get("/warehouses?per_page=200"), "list warehouses")["items"]
        return web.render("fleet.tpl", session, **shown, paged=True, warehouses=warehouses, tiles_of=tiles_of)
