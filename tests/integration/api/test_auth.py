"""Tokens from login to logout, against the real scheduler and FerretDB."""

import base64
import datetime
import hashlib
import json
import time

import jwt
import pymongo
import pytest

from cardshop.auth.tokens import Tokens
from cardshop.client import ApiClient
from cardshop.store import now
from devstack.servers import Scheduler
from tests.conftest import TEST_AUTH


def claims_of(token):
    return jwt.decode(token, options={"verify_signature": False})


def b64(data):
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


SHORT_TTL = {"access_ttl": 60, "refresh_ttl": 120}


@pytest.fixture(scope="module")
def short_ttl(stack_dir, ferretdb, tmp_path_factory):
    """A second scheduler whose tokens live 60 s (access) and 120 s (refresh)."""
    server = Scheduler(str(tmp_path_factory.mktemp("short")), ferretdb.url, db_name="tests_short_ttl",
                       overrides={"auth": {**TEST_AUTH, **SHORT_TTL}})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def back_dated(short_ttl, ferretdb):
    """Issue a pair for the short-lived scheduler's admin as if `seconds` ago (instead of waiting)."""
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    with open(f"{short_ttl.secrets}/jwt.key") as handle:
        tokens = Tokens(client[short_ttl.db_name], handle.read().strip(), **SHORT_TTL)
    admin = client[short_ttl.db_name].users.find_one({"username": short_ttl.admin["username"]})
    yield lambda seconds: tokens.issue(admin, at=now() - datetime.timedelta(seconds=seconds))
    client.close()


def test_login_gives_a_bearer_pair_with_a_one_hour_jwt(api, make_user):
    user = make_user("manager")
    reply = api.post("/auth/authorize", {"username": user.username, "password": user.password})
    assert reply.status == 200
    assert reply.body["token_type"] == "Bearer" and reply.body["expires_in"] == 3600
    claims = claims_of(reply.body["access_token"])
    assert claims["sub"] == user.username and claims["role"] == "manager"
    assert claims["exp"] - claims["iat"] == 3600
    assert jwt.get_unverified_header(reply.body["access_token"])["alg"] == "HS256"


def test_a_wrong_password_or_unknown_user_gets_401(api, make_user):
    user = make_user()
    assert api.post("/auth/authorize", {"username": user.username, "password": "wrong password"}).status == 401
    assert api.post("/auth/authorize", {"username": "nobody-here", "password": "whatever1"}).status == 401


def test_refresh_tokens_are_stored_hashed(make_user, db):
    user = make_user()
    assert db.refresh_tokens.find_one({"_id": user.refresh}) is None
    stored = db.refresh_tokens.find_one({"_id": hashlib.sha256(user.refresh.encode()).hexdigest()})
    assert stored["username"] == user.username


def test_a_refresh_gives_a_new_pair_in_the_same_session(api, make_user):
    user = make_user()
    reply = api.post("/auth/token", {"refresh_token": user.refresh})
    assert reply.status == 200
    assert reply.body["refresh_token"] != user.refresh
    assert claims_of(reply.body["access_token"])["sid"] == claims_of(user.access)["sid"]
    assert api.get(f"/users/{user.username}", token=reply.body["access_token"]).status == 200


def test_reusing_a_refresh_token_revokes_the_whole_session(api, make_user):
    user = make_user()
    second = api.post("/auth/token", {"refresh_token": user.refresh}).body
    reuse = api.post("/auth/token", {"refresh_token": user.refresh})
    assert reuse.status == 401 and "already used" in reuse.body["error"]
    # Every token of that login is now dead, including the pair issued in between.
    assert api.post("/auth/token", {"refresh_token": second["refresh_token"]}).status == 401
    assert api.get(f"/users/{user.username}", token=second["access_token"]).status == 401
    assert api.get(f"/users/{user.username}", token=user.access).status == 401


def test_logout_ends_the_session_at_once(api, make_user):
    user = make_user()
    other_login = api.post("/auth/authorize", {"username": user.username, "password": user.password}).body
    assert api.post("/auth/revoke", token=user.access).status == 200
    assert api.get(f"/users/{user.username}", token=user.access).status == 401
    assert api.post("/auth/token", {"refresh_token": user.refresh}).status == 401
    # Another login of the same user is a session of its own.
    assert api.get(f"/users/{user.username}", token=other_login["access_token"]).status == 200
    assert api.post("/auth/revoke", {"refresh_token": other_login["refresh_token"]}).status == 200
    assert api.get(f"/users/{user.username}", token=other_login["access_token"]).status == 401


def test_validate_names_the_owner_of_a_valid_token(api, make_user):
    user = make_user("creator")
    reply = api.post("/auth/validate", token=user.access)
    assert reply.status == 200 and reply.body == {"username": user.username, "role": "creator", "tasks": []}
    assert api.post("/auth/validate", token="not-a-token").status == 401
    assert api.post("/auth/validate").status == 401


def test_a_disabled_user_is_cut_off_at_once_and_comes_back_when_enabled(api, admin, make_user):
    user = make_user("writer")
    assert admin.patch(f"/users/{user.username}", {"active": False}).status == 200
    assert api.post("/auth/validate", token=user.access).status == 401
    assert api.post("/auth/token", {"refresh_token": user.refresh}).status == 401
    assert api.post("/auth/authorize", {"username": user.username, "password": user.password}).status == 401
    assert admin.patch(f"/users/{user.username}", {"active": True}).status == 200
    assert api.post("/auth/authorize", {"username": user.username, "password": user.password}).status == 200


def test_a_deleted_user_is_cut_off_at_once(api, admin, make_user):
    user = make_user("creator")
    assert admin.delete(f"/users/{user.username}").status == 204
    assert api.post("/auth/validate", token=user.access).status == 401
    assert api.post("/auth/token", {"refresh_token": user.refresh}).status == 401


def test_changing_a_password_ends_every_session(api, make_user):
    user = make_user()
    wrong = api.post(f"/users/{user.username}/password",
                     {"password": "a new password", "current_password": "not it"}, token=user.access)
    assert wrong.status == 403
    done = api.post(f"/users/{user.username}/password",
                    {"password": "a new password", "current_password": user.password}, token=user.access)
    assert done.status == 200
    assert api.post("/auth/validate", token=user.access).status == 401
    assert api.post("/auth/authorize", {"username": user.username, "password": "a new password"}).status == 200


def test_forged_tokens_get_401(api, make_user, scheduler):
    user = make_user("creator")
    header, payload, signature = user.access.split(".")
    # Tampered: same signature, role raised to admin.
    tampered = ".".join([header, b64({**claims_of(user.access), "role": "admin"}), signature])
    # alg none: no signature at all.
    unsigned = ".".join([b64({"alg": "none", "typ": "JWT"}), payload, ""])
    # Signed with another key.
    wrong_key = jwt.encode(claims_of(user.access), "another key of at least thirty-two chars", algorithm="HS256")
    # Signed with the right key, but expired.
    with open(f"{scheduler.secrets}/jwt.key") as handle:
        key = handle.read().strip()
    now = int(time.time())
    expired = jwt.encode({**claims_of(user.access), "iat": now - 7200, "exp": now - 3600}, key, algorithm="HS256")
    for token in (tampered, unsigned, wrong_key, expired, user.access + "x", "a.b.c"):
        reply = api.post("/auth/validate", token=token)
        assert reply.status == 401, token
    assert "expired" in api.post("/auth/validate", token=expired).body["error"]
    assert api.get("/orders", headers={"Authorization": "Basic abc"}).status == 401


def test_tokens_are_issued_with_the_configured_lifetimes(short_ttl, ferretdb):
    pair = ApiClient(short_ttl.url).post("/auth/authorize", short_ttl.admin).body
    claims = claims_of(pair["access_token"])
    assert pair["expires_in"] == claims["exp"] - claims["iat"] == SHORT_TTL["access_ttl"]
    client = pymongo.MongoClient(ferretdb.url, tz_aware=True)
    try:
        stored = client[short_ttl.db_name].refresh_tokens.find_one(
            {"_id": hashlib.sha256(pair["refresh_token"].encode()).hexdigest()})
    finally:
        client.close()
    assert (stored["expires_at"] - stored["created_at"]).total_seconds() == SHORT_TTL["refresh_ttl"]


def test_access_tokens_expire_after_their_ttl(short_ttl, back_dated):
    api = ApiClient(short_ttl.url)
    assert api.post("/auth/validate", token=back_dated(0)["access_token"]).status == 200
    pair = back_dated(SHORT_TTL["access_ttl"] + 5)
    reply = api.post("/auth/validate", token=pair["access_token"])
    assert reply.status == 401 and "expired" in reply.body["error"]
    # The refresh token still works within its own lifetime...
    fresh = api.post("/auth/token", {"refresh_token": pair["refresh_token"]})
    assert fresh.status == 200
    # ...and not after it.
    late = api.post("/auth/token", {"refresh_token": back_dated(SHORT_TTL["refresh_ttl"] + 5)["refresh_token"]})
    assert late.status == 401 and "expired" in late.body["error"]


def test_repeated_failed_logins_lock_the_username_for_a_while(api, make_user):
    user = make_user()
    for _ in range(TEST_AUTH["max_failures"]):
        assert api.post("/auth/authorize", {"username": user.username, "password": "bad guess"}).status == 401
    locked = api.post("/auth/authorize", {"username": user.username, "password": user.password})
    assert locked.status == 429
    assert int(locked.headers["Retry-After"]) >= 1
    time.sleep(TEST_AUTH["lockout"] + 0.5)
    assert api.post("/auth/authorize", {"username": user.username, "password": user.password}).status == 200


def test_operator_injection_logs_nobody_in(api, make_user):
    make_user()
    for body in ({"username": {"$ne": None}, "password": {"$ne": None}},
                 {"username": {"$gt": ""}, "password": "x"},
                 {"username": "admin", "password": {"$ne": None}}):
        reply = api.post("/auth/authorize", body)
        assert reply.status == 400, reply


@pytest.mark.parametrize("role, method, path, allowed", [
    ("manager", "POST", "/users", False),
    ("manager", "GET", "/users", False),
    ("manager", "GET", "/orders", True),
    ("creator", "GET", "/orders", False),
    ("writer", "GET", "/tasks", False),
    ("writer", "GET", "/warehouses", False),
    ("manager", "POST", "/warehouses", False),
])
def test_roles_are_checked_on_every_route(api, make_user, role, method, path, allowed):
    user = make_user(role)
    reply = api.request(method, path, {} if method == "POST" else None, token=user.access)
    if allowed:
        assert reply.status == 200
    else:
        assert reply.status == 403 and role in reply.body["error"]


def test_a_user_reads_only_themselves_unless_admin(api, make_user, admin):
    one, other = make_user("writer"), make_user("writer")
    assert api.get(f"/users/{one.username}", token=one.access).status == 200
    assert api.get(f"/users/{other.username}", token=one.access).status == 403
    assert admin.get(f"/users/{other.username}").status == 200


def test_a_second_scheduler_process_sees_a_disabled_user_within_the_cache_delay(
        scheduler, ferretdb, tmp_path, admin, make_user):
    other = Scheduler(str(tmp_path), ferretdb.url, db_name=scheduler.db_name,
                      overrides={"auth": {**TEST_AUTH, "jwt_key_file": f"{scheduler.secrets}/jwt.key"},
                                 "system_user": {"password_file": f"{scheduler.secrets}/system.password"}})
    other.start()
    try:
        user = make_user("writer")
        elsewhere = ApiClient(other.url, user.access)
        assert elsewhere.post("/auth/validate").status == 200
        admin.patch(f"/users/{user.username}", {"active": False})
        time.sleep(1.2)  # auth.user_cache_seconds defaults to 1
        assert elsewhere.post("/auth/validate").status == 401
    finally:
        other.stop()
