"""About the API itself: its OpenAPI document and a health check."""

from cardshop.api import schemas
from cardshop.api.routing import Api, ApiError
from cardshop.store.db import ping

api = Api()


@api.route("GET", "/openapi.json", summary="This API's OpenAPI 3.1 document", tag="meta",
           response={"type": "object"})
def openapi(call):
    return call.services.openapi


@api.route("GET", "/health", summary="Whether the scheduler and its database answer", tag="meta",
           response=schemas.obj({"status": {"const": "ok"}, "database": {"const": "ok"}}), errors=[503])
def health(call):
    if not ping(call.services.db):
        raise ApiError(503, "the database does not answer")
    return {"status": "ok", "database": "ok"}
