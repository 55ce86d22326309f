"""Point 6: no unauthenticated lockout, no CPU exhaustion, no lasting trail of guesses."""

import time

from cardshop.client import ApiClient
from tests.conftest import unique
from tests.integration.security.concurrency import post_from


def test_a_guesser_at_another_address_cannot_lock_a_user_out(scheduler, make_user):
    victim = make_user("manager")
    wrong = {"username": victim.username, "password": "not the password"}
    statuses = [post_from("127.0.0.2", scheduler.url, "/auth/authorize", wrong)[0] for _ in range(6)]
    assert statuses[:3] == [401] * 3 and statuses[-1] == 429, statuses  # the guesser is locked...
    login = ApiClient(scheduler.url).post("/auth/authorize", {"username": victim.username,
                                                               "password": victim.password})
    assert login.status == 200, login  # ...the user, elsewhere, is not


def test_wrong_broker_logins_never_lock_the_system_user_out_of_rabbitmq(scheduler):
    system = scheduler.system
    for _ in range(8):
        status, _, answer = post_from("127.0.0.1", scheduler.url, "/auth/rabbitmq/user",
                                      {"username": system["username"], "password": "guess"},
                                      "application/x-www-form-urlencoded")
        assert (status, answer) == (200, "deny")
    status, _, answer = post_from("127.0.0.1", scheduler.url, "/auth/rabbitmq/user", system,
                                  "application/x-www-form-urlencoded")
    assert (status, answer) == (200, "allow administrator management")


def test_logins_beyond_an_addresss_burst_are_refused_before_any_password_check(strict_scheduler):
    replies = [post_from("127.0.0.3", strict_scheduler.url, "/auth/authorize",
                         {"username": unique("nobody"), "password": "whatever-it-is"}) for _ in range(12)]
    statuses = [status for status, _, _ in replies]
    assert statuses[:6] == [401] * 6 and statuses.count(429) >= 4, statuses
    refused = next(reply for reply in replies if reply[0] == 429)
    assert int(refused[1]["Retry-After"]) >= 1 and "from this address" in refused[2]
    # another address is not affected
    assert post_from("127.0.0.4", strict_scheduler.url, "/auth/authorize",
                     {"username": unique("nobody"), "password": "whatever-it-is"})[0] == 401


def _documents_naming(db, username):
    return sum(db[name].count_documents({"username": username}) for name in db.list_collection_names())


def test_unknown_usernames_leave_no_lasting_trail(strict_scheduler, strict_db):
    names = [unique("ghost") for _ in range(4)]
    for name in names:
        assert post_from("127.0.0.5", strict_scheduler.url, "/auth/authorize",
                         {"username": name, "password": "whatever-it-is"})[0] == 401
    assert sum(_documents_naming(strict_db, name) for name in names) <= len(names)
    deadline = time.monotonic() + 20
    while sum(_documents_naming(strict_db, name) for name in names):
        assert time.monotonic() < deadline, "records of unknown usernames outlive the failure window"
        # later failures (from elsewhere) are what sweeps expired records
        post_from("127.0.0.6", strict_scheduler.url, "/auth/authorize",
                  {"username": "someone-else", "password": "whatever-it-is"})
        time.sleep(1)
