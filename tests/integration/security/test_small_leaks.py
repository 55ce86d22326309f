"""Point 12: token replies are not cached, no reply is content-sniffed, the stack listens on loopback only."""

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
