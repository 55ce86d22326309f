"""Counts for dashboards, each in one database round trip."""

from cardshop.api import schemas
from cardshop.api.routing import Api
from cardshop.auth import roles
from cardshop.states import ORDER
from cardshop.store import orders

api = Api()

COUNTS = schemas.obj({"by_status": schemas.obj({status: {"type": "integer"} for status in sorted(ORDER.statuses)},
                                               sorted(ORDER.statuses)),
                      "total": {"type": "integer"}}, ["by_status", "total"])


@api.route("GET", "/stats/orders", summary="How many orders are in each status", roles=roles.OPERATORS,
           response=COUNTS, errors=[401, 403])
def order_counts(call):
    counts = dict.fromkeys(sorted(ORDER.statuses), 0)
    for status, count in orders.count_by_status(call.services.db).items():
        if status in counts:
            counts[status] = count
    return {"by_status": counts, "total": sum(counts.values())}
