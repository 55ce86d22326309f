"""The OpenAPI 3.1 document, built from the declared routes so it cannot drift."""

import cardshop
from cardshop.api import schemas
from cardshop.auth import roles

_REASONS = {400: "Bad request: malformed JSON, or a missing, unknown or ill-typed field or query parameter; "
                 "a request the HTTP server itself cannot parse (such as a header with control characters) "
                 "gets its plain-text 400",
            401: "Not authenticated: missing, invalid, expired or revoked token",
            403: "Authenticated, but the role may not do this",
            404: "No such resource", 405: "Method not allowed on this path",
            409: "Conflicts with the current state (illegal transition, duplicate)",
            413: "Request body over the limit", 415: "The body is not application/json",
            429: "Too many failed logins, or login attempts from this address; see Retry-After",
            503: "The database does not answer, or every password-checking slot is busy; see Retry-After",
            504: "The database answers too slowly for this request (slow, not down); see Retry-After"}


def _operation(route):
    operation = {"summary": route.summary, "tags": [route.tag],
                 "operationId": f"{route.handler.__module__.rsplit('.', 1)[-1]}_{route.handler.__name__}"}
    parameters = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in route.path_params]
    parameters += [{"name": name, "in": "query", "required": False,
                    "schema": {k: v for k, v in schema.items() if not k.startswith("x-")},
                    **({"description": schema["description"]} if "description" in schema else {})}
                   for name, schema in route.query.items()]
    if parameters:
        operation["parameters"] = parameters
    if route.roles is not None:
        operation["security"] = [{"bearer": []}]
        operation["x-roles"] = list(route.roles)
    if route.form is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": route.form}}}
    elif route.body is not None:
        operation["requestBody"] = {"required": not route.body_optional,
                                    "content": {"application/json": {"schema": route.body}}}
    if route.status == 204:
        success = {"description": "Done; no content"}
    elif route.text:
        success = {"description": route.summary, "content": {"text/plain": {"schema": route.response}}}
    else:
        success = {"description": "Success", "content": {"application/json": {"schema": route.response or {}}}}
    if route.headers:
        success["headers"] = {name: {"schema": {"const": value}} for name, value in route.headers.items()}
    responses = {str(route.status): success}
    responses.update({str(code): {"$ref": f"#/components/responses/E{code}"} for code in sorted(_errors(route))})
    operation["responses"] = responses
    return operation


def _errors(route):
    """What the route says it refuses, plus what the dispatcher and the HTTP server answer on any route."""
    errors = set(route.errors) | {400}
    if route.roles is not None:  # the token is checked against the user as stored
        errors |= {401, 503}
        if set(route.roles) != set(roles.ALL):
            errors.add(403)
    if route.body is not None and not route.text:
        errors |= {413, 415, 503}
    if 503 in errors:  # whoever may find the database away may also find it too slow
        errors.add(504)
    return errors


def build_document(routes):
    paths = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Cardshop scheduler API", "version": cardshop.__version__,
                 "description": "Users, orders, tasks, workers and warehouses of a Cardshop fleet. "
                                "Errors are JSON objects {\"error\": message}. Every answer, errors "
                                "included, says Cache-Control: no-store."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {"Error": schemas.ERROR},
            "responses": {f"E{code}": {"description": reason, "content": _error_content(code)}
                          for code, reason in _REASONS.items()},
        },
    }


def _error_content(code):
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    if code == 400:  # Waitress refuses malformed HTTP before any route runs
        content["text/plain"] = {"schema": {"type": "string"}}
    return content
