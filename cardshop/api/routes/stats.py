"""Counts for dashboards, each in one database round trip (order totals come from counters kept with each
change of status, store/counters.py)."""

from cardshop.api import schemas
from cardshop.api.routing import Api
from cardshop.auth import roles
from cardshop.states import ORDER
from cardshop.store import orders

api = Api()

COUNTS = schemas.obj({"by_status": schemas.obj({status: {"type": "integer"} for status in sorted(ORDER.statuses)},
                                               sorted(ORDER.statuses)),
                      "total": {"type": "integer"}}, ["by_status", "total"],
                     description="from counters moved with each change of an order's status (not a scan of the "
                                 "orders); the beat's recount_orders job corrects one a crash left off")


@api.route("GET", "/stats/orders", summary="How many orders are in each status", roles=roles.OPERATORS,
           response=COUNTS, errors=[401, 403])
def order_counts(call):
    counts = orders.count_by_status(call.services.db)
    return {"by_status": counts, "total": sum(counts.values())}
