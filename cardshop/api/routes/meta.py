"""About the API itself: its OpenAPI document and a health check."""

from cardshop.api import schemas
from cardshop.api.routing import Api, ApiError
from cardshop.store import clock_checks
from cardshop.store.db import ping

api = Api()

BEAT_CLOCK = schemas.obj({
    "skew_seconds": {"type": "number",
                     "description": "How far the beat host's clock is ahead of the database server's (negative: "
                                    "behind), corrected for the round trip."},
    "round_trip_seconds": {"type": "number"},
    "max_skew_seconds": {"type": "integer", "description": "The beat's bound (beat.max_clock_skew)."},
    "ok": {"type": "boolean",
           "description": "false: the skew is beyond the bound, and the beat's time-based jobs (time-outs, "
                          "offline writer hosts, expiries, retries) skip their runs until the clocks agree."},
    "measured_at": schemas.TIME, "host": {"type": "string"}},
    ["skew_seconds", "max_skew_seconds", "ok", "measured_at"],
    description="The beat's last measurement of its clock against the database server's (every 10 s while it "
                "runs; absent until a beat has run).")
HEALTH = schemas.obj({
    "status": {"enum": ["ok", "degraded"],
               "description": "degraded: the API serves, but something needs an operator; `warnings` says what. "
                              "Monitoring should alert on anything but ok."},
    "database": {"const": "ok"},
    "beat_clock": BEAT_CLOCK,
    "warnings": {"type": "array", "items": {"type": "string"}}}, ["status", "database", "warnings"])


@api.route("GET", "/openapi.json", summary="This API's OpenAPI 3.1 document", tag="meta",
           response={"type": "object"})
def openapi(call):
    return call.services.openapi


# 200 while the API serves, even degraded: deployments and the scheduler's own watchdog wait for it, and a
# beat with a wrong clock is no reason to take the API away. Its body's status tells monitoring.
@api.route("GET", "/health", summary="Whether the scheduler and its database answer (503 if not), and whether "
                                     "anything needs an operator (status degraded, with warnings)",
           tag="meta", response=HEALTH, errors=[503])
def health(call):
    if not ping(call.services.db):
        raise ApiError(503, "the database does not answer")
    reply = {"status": "ok", "database": "ok", "warnings": []}
    check = clock_checks.last(call.services.db, "beat")
    if check is not None:
        reply["beat_clock"] = {key: check[key] for key in BEAT_CLOCK["properties"] if key in check}
        if not check["ok"]:
            ahead = "ahead of" if check["skew_seconds"] > 0 else "behind"
            reply["warnings"].append(
                f"the beat's clock ({check.get('host', '?')}) is {abs(check['skew_seconds']):.0f} s {ahead} the "
                f"database server's, beyond its bound of {check['max_skew_seconds']} s: time-outs, offline checks "
                "and expiries are paused; check time synchronisation")
            reply["status"] = "degraded"
    return reply
