"""Declared routes: one declaration drives dispatch, checks and the OpenAPI document.

A handler receives a `Call` (authenticated user, parsed body, query and path
parameters) and returns a JSON-able value; errors are raised as ApiError.
"""

import dataclasses
import datetime
import json
import logging
import urllib.parse

import bottle
import pymongo.errors

from cardshop.proxies import CLIENT_ADDRESS_HEADER, ProxyError
from cardshop.store import is_id, slow, unavailable
from cardshop.validation import Validator

log = logging.getLogger(__name__)

JSON_TYPE = "application/json"
MAX_DEPTH = 64  # nesting of arrays and objects in a request body


class ApiError(Exception):
    def __init__(self, status, message, headers=None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def _json_default(value):
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    raise TypeError(f"cannot encode {type(value).__name__}")


def to_json(value):
    return json.dumps(value, default=_json_default, separators=(",", ":"))


@dataclasses.dataclass(slots=True)
class Call:
    """What a handler gets: who asks, and what they sent."""

    services: object
    user: dict | None
    body: object
    query: dict
    params: dict
    request: object

    @property
    def actor(self):
        return self.user["username"] if self.user else "anonymous"

    @property
    def address(self):
        """The peer's address as the server saw it (never a header the client wrote)."""
        return self.request.environ.get("REMOTE_ADDR", "")

    @property
    def client(self):
        """Whom login limits count against and address checks see: the client a trusted proxy (the
        manager, the TLS front) names, else the peer; 400 for that header from any other peer."""
        try:
            return self.services.proxies.named_client(self.address, self.request.get_header(CLIENT_ADDRESS_HEADER))
        except ProxyError as exc:
            raise ApiError(400, str(exc)) from None


class Route:
    def __init__(self, method, path, handler, *, summary, roles, body, query, response,
                 status, errors, tag, form, text, body_optional, headers):
        self.method = method
        self.path = path
        self.handler = handler
        self.summary = summary
        self.roles = roles
        self.body = body
        self.body_validator = Validator(body) if body is not None else None
        self.query = query or {}
        self.query_validators = {name: Validator(schema) for name, schema in self.query.items()}
        self.response = response
        self.status = status
        self.errors = errors
        self.tag = tag
        self.form = form
        self.text = text
        self.body_optional = body_optional
        self.headers = headers or {}

    @property
    def bottle_path(self):
        return self.path.replace("{", "<").replace("}", ">")

    @property
    def path_params(self):
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]


class Api:
    """A set of declared routes; `app()` builds the Bottle application."""

    def __init__(self, max_body_bytes=1024 * 1024):
        self.routes = []
        self.max_body_bytes = max_body_bytes

    def route(self, method, path, *, summary, roles=None, body=None, query=None, response=None,
              status=200, errors=(), tag=None, form=None, text=False, body_optional=False, headers=None):
        """Declare a route. roles=None means no authentication; `headers` go on every answer."""
        def decorate(handler):
            self.routes.append(Route(
                method, path, handler, summary=summary, roles=roles, body=body, query=query,
                response=response, status=status, errors=tuple(errors), form=form, text=text, headers=headers,
                tag=tag or path.strip("/").split("/")[0], body_optional=body_optional))
            return handler
        return decorate

    def include(self, other):
        self.routes.extend(other.routes)

    # -- building the WSGI app ------------------------------------------

    def app(self, services, authenticate):
        """`authenticate(header)` returns the user for an Authorization header or raises ApiError."""
        app = bottle.Bottle(catchall=True)
        app.default_error_handler = _error_page
        app.add_hook("after_request", _common_headers)
        for route in self.routes:
            app.route(route.bottle_path, route.method,
                      self._dispatcher(route, services, authenticate))
        return app

    def _dispatcher(self, route, services, authenticate):
        max_body = self.max_body_bytes

        def dispatch(**params):
            request, response = bottle.request, bottle.response
            for name, value in route.headers.items():
                response.set_header(name, value)
            try:
                raw = _read_body(request, max_body) if route.body is not None or route.form else b""
                if "id" in params and not is_id(params["id"]):
                    raise ApiError(404, f"no {route.tag.rstrip('s')} {params['id']!r}: ids are 24 hex digits")
                user = None
                if route.roles is not None:
                    user = authenticate(request.get_header("Authorization"))
                    if user["role"] not in route.roles:
                        raise ApiError(403, f"role {user['role']!r} may not {route.method} {route.path}")
                query = _parse_query(route, request.query)
                if route.form is not None:
                    body = _parse_form(raw)
                elif route.body is not None and route.body_optional and not raw.strip():
                    body = {}
                elif route.body is not None:
                    _check_json_type(request)
                    body = _parse_json(raw, route.body_validator)
                else:
                    body = None
                result = route.handler(Call(services, user, body, query, params, request))
            except pymongo.errors.PyMongoError as exc:
                if slow(exc):  # it answers, too slowly: say so, not "unavailable"
                    log.warning("database too slow during %s %s: %s", route.method, route.path, exc)
                    error = ApiError(504, f"the database did not answer {route.method} {route.path} in time "
                                          "(it is slow, not down); try again shortly", {"Retry-After": "5"})
                elif unavailable(exc):
                    log.warning("database unavailable during %s %s: %s", route.method, route.path, exc)
                    error = ApiError(503, "the database is unavailable; try again shortly", {"Retry-After": "5"})
                else:
                    raise
                return _error_reply(route, response, error)
            except ApiError as error:
                return _error_reply(route, response, error)
            if route.text:
                response.content_type = "text/plain"
                return result
            response.status = route.status
            response.content_type = JSON_TYPE
            if result is None:
                return ""
            return to_json(result)

        return dispatch


# Every answer, errors included, is kept out of caches: most carry a caller's data (names, emails,
# addresses) or tokens, and a rule that named the others would be one more thing to get wrong.
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}


def _common_headers():
    for name, value in COMMON_HEADERS.items():
        bottle.response.set_header(name, value)


def _error_reply(route, response, error):
    if route.text and error.status != 403:  # plain-text contracts (RabbitMQ) never get an error page
        response.content_type = "text/plain"
        return "deny"
    response.status = error.status
    for name, value in error.headers.items():
        response.set_header(name, value)
    response.content_type = JSON_TYPE
    return to_json({"error": error.message})


def _error_page(error):
    """Bottle's own errors (404, 405, uncaught exceptions) as JSON."""
    _common_headers()  # an uncaught exception's answer starts from fresh headers
    bottle.response.content_type = JSON_TYPE
    if error.status_code >= 500:
        log.error("unhandled error on %s %s: %s\n%s", bottle.request.method,
                  bottle.request.path, error.exception, error.traceback or "")
        return to_json({"error": "internal error; the scheduler's log has the details"})
    if error.status_code == 404:
        return to_json({"error": f"no route {bottle.request.path}"})
    if error.status_code == 405:
        return to_json({"error": f"method {bottle.request.method} not allowed on {bottle.request.path}"})
    return to_json({"error": str(error.body)})


def _read_body(request, limit):
    length = request.content_length
    if length > limit:
        raise ApiError(413, f"request body of {length} bytes is over the limit of {limit} bytes")
    stream = request.environ["wsgi.input"]
    data = stream.read(length) if length >= 0 else stream.read(limit + 1)
    if len(data) > limit:
        raise ApiError(413, f"request body is over the limit of {limit} bytes")
    return data


def _check_json_type(request):
    declared = request.environ.get("CONTENT_TYPE", "")
    if declared and declared.split(";")[0].strip().lower() != JSON_TYPE:
        raise ApiError(415, f"request body must be {JSON_TYPE}, not {declared.split(';')[0].strip()!r}")


def _unique_keys(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"key {key!r} appears more than once")
        seen[key] = value
    return seen


def _check_shape(body):
    """Refuse what the database or validator cannot take: deep nesting and lone surrogates."""
    pending = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            try:
                value.encode()
            except UnicodeEncodeError:
                raise ApiError(400, "request body has a string with a lone surrogate (not valid Unicode)") from None
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > MAX_DEPTH:
            raise ApiError(400, f"request body is nested more than {MAX_DEPTH} levels deep")
        items = list(value.items()) if isinstance(value, dict) else [(None, item) for item in value]
        for key, item in items:
            if key is not None:
                pending.append((key, depth))
            pending.append((item, depth + 1))


def _parse_json(raw, validator):
    if not raw.strip():
        raise ApiError(400, "request body is empty; expected a JSON object")
    try:
        body = json.loads(raw, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise ApiError(400, f"request body is nested more than {MAX_DEPTH} levels deep") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"request body is not valid JSON: {exc}") from None
    _check_shape(body)
    error = validator.first_error(body)
    if error:
        raise ApiError(400, error)
    return body


def _parse_form(raw):
    try:
        pairs = bottle.FormsDict()
        for key, value in urllib.parse.parse_qsl(raw.decode("latin-1"), keep_blank_values=True,
                                                  encoding="latin-1"):
            pairs[key] = value
        return {key: pairs.getunicode(key) for key in pairs}
    except Exception as exc:  # malformed forms only ever get "deny"
        raise ApiError(400, f"malformed form: {exc}") from None


def _parse_query(route, raw_query):
    query = {}
    for name in raw_query:
        if name not in route.query:
            known = ", ".join(sorted(route.query)) or "none"
            raise ApiError(400, f"unknown query parameter {name!r} (known: {known})")
        values = raw_query.getall(name)
        if len(values) > 1:
            raise ApiError(400, f"query parameter {name!r} given more than once")
        value = raw_query.getunicode(name)
        schema = route.query[name]
        if schema.get("type") == "integer":
            try:
                value = int(value)
            except (TypeError, ValueError):
                raise ApiError(400, f"query parameter {name!r}: expected integer, got {value!r}") from None
        error = route.query_validators[name].first_error(value)
        if error:
            raise ApiError(400, error.replace("field '(top level)'", f"query parameter {name!r}"))
        query[name] = value
    return query
