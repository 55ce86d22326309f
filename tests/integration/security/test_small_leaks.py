"""No reply is cached or content-sniffed, the stack listens on loopback only."""

import os
import stat
import subprocess

from cardshop.client import ApiClient


def test_token_replies_say_no_store(scheduler, make_user):
    user = make_user("manager")
    api = ApiClient(scheduler.url)
    login = api.post("/auth/authorize", {"username": user.username, "password": user.password})
    assert login.headers["Cache-Control"] == "no-store"
    refreshed = api.post("/auth/token", {"refresh_token": login.body["refresh_token"]})
    assert refreshed.status == 200 and refreshed.headers["Cache-Control"] == "no-store"


def fill(path):
    for parameter, value in (("{id}", "0" * 24), ("{username}", "nobody-here"), ("{name}", "nobody-here"),
                             ("{number}", "1")):
        path = path.replace(parameter, value)
    assert "{" not in path, f"no value for a parameter of {path}"
    return path


def test_every_answer_to_a_request_with_credentials_says_no_store_errors_included(scheduler, make_user):
    """Every route of the OpenAPI document, with an admin's and a writer's bearer token: lists that answer
    200, unknown ids (404), bodies that do not validate (400), roles refused (403); and a few more errors."""
    api = ApiClient(scheduler.url)
    own = api.post("/auth/authorize", scheduler.admin).body  # a session of its own: /auth/revoke ends it
    callers = {"admin": ApiClient(scheduler.url, own["access_token"]),
               "writer": ApiClient(scheduler.url, make_user("writer").access)}
    operations = [(method.upper(), path, operation) for path, methods in api.get("/openapi.json").body["paths"].items()
                  for method, operation in methods.items()]
    operations.sort(key=lambda operation: operation[1] == "/auth/revoke")  # last: it ends the admin's session
    missing, statuses = [], set()
    for method, path, operation in operations:
        content = operation.get("requestBody", {}).get("content", {})
        if "application/x-www-form-urlencoded" in content:  # RabbitMQ's questions carry a password
            sent = {"data": b"username=admin&password=wrong",
                    "headers": {"Content-Type": "application/x-www-form-urlencoded"}}
        else:
            sent = {"data": b"{}", "headers": {"Content-Type": "application/json"}} if content else {}
        for role, caller in callers.items():
            reply = caller.request(method, fill(path), **sent)
            statuses.add(reply.status)
            if reply.headers.get("Cache-Control") != "no-store":
                missing.append(f"{role} {method} {path}: {reply.status}")
    token = callers["writer"].token
    for reply in (api.get("/no/such/route", token=token), api.request("PUT", "/orders", token=token),
                  api.get("/users", token="not a token"),
                  api.post("/auth/token", {"refresh_token": "not a refresh token"})):
        statuses.add(reply.status)
        if reply.headers.get("Cache-Control") != "no-store":
            missing.append(f"an error: {reply.status}")
    assert {200, 400, 401, 403, 404, 405} <= statuses, statuses
    assert not missing, f"{len(missing)} answers without Cache-Control: no-store: {missing}"


def test_every_reply_says_nosniff(scheduler, admin):
    api = ApiClient(scheduler.url)
    replies = [api.get("/health"), api.get("/no/such/route"), api.get("/users"), admin.get("/users"),
               api.post("/auth/authorize", {"username": "nobody-here", "password": "x" * 9}),
               api.request("POST", "/auth/rabbitmq/user", data=b"username=x&password=y",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})]
    assert [reply.headers.get("X-Content-Type-Options") for reply in replies] == ["nosniff"] * len(replies), \
        [reply.status for reply in replies]


def _listening(port):
    out = subprocess.run(["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True).stdout
    return [line.split()[3].rsplit(":", 1)[0] for line in out.splitlines()]


def test_the_broker_its_epmd_and_erlang_distribution_listen_on_loopback_only(rabbitmq):
    for port in (rabbitmq.port, rabbitmq.dist_port, rabbitmq.epmd_port):
        addresses = _listening(port)
        assert addresses and set(addresses) <= {"127.0.0.1", "[::1]"}, (port, addresses)


def test_database_and_broker_files_are_private(ferretdb, rabbitmq):
    for folder in (ferretdb.dir, ferretdb.postgresql.dir, rabbitmq.dir):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder
