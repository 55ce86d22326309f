"""Logins: no unauthenticated lockout, no CPU exhaustion, no lasting trail of guesses."""

import time

from cardshop.client import ApiClient
from cardshop.proxies import CLIENT_ADDRESS_HEADER
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


def test_failed_logins_a_trusted_proxy_reports_count_against_the_browser_it_names(scheduler, make_user):
    # the stack's scheduler trusts 127.0.0.1, where its manager calls from
    victim = make_user("manager")
    wrong = {"username": victim.username, "password": "not the password"}
    right = {"username": victim.username, "password": victim.password}
    guesser = {CLIENT_ADDRESS_HEADER: "127.0.0.21"}
    statuses = [post_from("127.0.0.1", scheduler.url, "/auth/authorize", wrong, headers=guesser)[0]
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429], statuses  # the guesser's browser is locked...
    # ...not another browser behind the same proxy, nor the proxy's own logins, nor the user elsewhere
    assert post_from("127.0.0.1", scheduler.url, "/auth/authorize", right,
                     headers={CLIENT_ADDRESS_HEADER: "127.0.0.22"})[0] == 200
    assert post_from("127.0.0.1", scheduler.url, "/auth/authorize", right)[0] == 200
    assert post_from("127.0.0.23", scheduler.url, "/auth/authorize", right)[0] == 200


def test_a_client_address_header_from_a_peer_not_trusted_is_refused_before_any_password_check(scheduler,
                                                                                             make_user):
    user = make_user("manager")
    right = {"username": user.username, "password": user.password}
    wrong = {"username": user.username, "password": "not the password"}
    for named in ("127.0.0.1", "127.0.0.25", "127.0.0.26"):  # anyone's address: the user's own one included
        status, _, text = post_from("127.0.0.24", scheduler.url, "/auth/authorize", right,
                                    headers={CLIENT_ADDRESS_HEADER: named})
        assert status == 400 and CLIENT_ADDRESS_HEADER in text and "api.trusted_proxies" in text, (status, text)
    # naming others, the guesser gets no answer on the password and locks nobody out...
    for index in range(6):
        status, _, _ = post_from("127.0.0.24", scheduler.url, "/auth/authorize", wrong,
                                 headers={CLIENT_ADDRESS_HEADER: f"127.0.0.{25 + index % 2}"})
        assert status == 400
    assert post_from("127.0.0.25", scheduler.url, "/auth/authorize", right)[0] == 200
    # ...and without the header it is counted at its own address, as before
    statuses = [post_from("127.0.0.24", scheduler.url, "/auth/authorize", wrong)[0] for _ in range(4)]
    assert statuses == [401, 401, 401, 429], statuses


def test_a_trusted_proxy_naming_no_address_is_refused(scheduler, make_user):
    user = make_user("manager")
    status, _, text = post_from("127.0.0.1", scheduler.url, "/auth/authorize",
                                {"username": user.username, "password": user.password},
                                headers={CLIENT_ADDRESS_HEADER: "127.0.0.27, 127.0.0.28"})
    assert status == 400 and "not an IP address" in text, (status, text)


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
