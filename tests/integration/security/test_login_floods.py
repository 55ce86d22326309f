"""Correct logins hold under floods of wrong ones and after a broker restart.

A pipeline of its own with production bcrypt cost (12) and no per-address rate limit to hide behind:
what keeps correct logins working here is the fair check queue and the memory of verified
credentials, not the token bucket (tested in test_login_throttling.py). Every correct login
succeeds; one remembered from a moment ago is answered within a second. How long a first one (a
bcrypt check at cost 12 on a machine the flood itself saturates) takes is `make bench`'s figure.
"""

import functools
import time

import pytest

from devstack.pipeline import Pipeline
from devstack.processes import wait_until
from tests.conftest import unique
from tests.integration.security.concurrency import post_from
from tests.integration.security.logins import (FORM, Worker, amqp_login, api_login, back_to_work_after_restart,
                                               flood, steady, wrong_amqp_guess, wrong_api_guess)

pytestmark = pytest.mark.fault  # floods: the fault tier (make test-faults)

AUTH = {"bcrypt_rounds": 12, "login_rate": 1000, "login_burst": 1000}
PROMPT = 1.0  # seconds within which a remembered correct login is answered, whatever floods


@pytest.fixture(scope="module")
def stack(tmp_path_factory, ferretdb):
    with Pipeline(str(tmp_path_factory.mktemp("logins")), ferretdb, auth=AUTH, db_name="logins").running() as pipeline:
        yield pipeline


def new_account(stack, role="manager"):
    username = unique(role[:4])
    password = f"{username} password"
    stack.scheduler.worker_user(username, role, password)
    return username, password


def correct_api_logins(stack, source, accounts):
    """Each account logs in twice from `source`: the first check runs bcrypt, the second is remembered."""
    return [api_login(stack.scheduler.url, source, *account) for account in accounts for _ in range(2)]


def all_in_and_remembered_ones_prompt(logins):
    """Every login succeeded (200, or True for AMQP), and every second one (remembered) within PROMPT."""
    return all(status in (200, True) for status, _ in logins) and all(
        seconds < PROMPT for _, seconds in logins[1::2])


# First: after thousands of flood connections, a new Erlang distribution port may be hard to find.
def test_after_a_broker_restart_twenty_connected_workers_all_consume_again_within_15_s(stack):
    workers = [Worker(stack.rabbitmq.port, *new_account(stack, "creator")).start() for _ in range(20)]
    try:
        wait_until(lambda: all(worker.consuming.is_set() for worker in workers), timeout=60)
        seconds = back_to_work_after_restart(stack.rabbitmq, workers, timeout=60)
    finally:
        for worker in workers:
            worker.stop()
    assert seconds is not None and seconds <= 15, seconds


def test_wrong_amqp_passwords_for_admin_leave_correct_api_and_worker_logins_prompt(stack):
    port = stack.rabbitmq.port
    people = [new_account(stack) for _ in range(3)]
    workers = [new_account(stack, "creator") for _ in range(3)]
    senders = [functools.partial(wrong_amqp_guess, port, "admin")] * 16
    with flood(senders) as answers:
        steady(answers, senders)
        api = correct_api_logins(stack, "127.0.0.3", people)
        broker = [amqp_login(port, *worker) for worker in workers for _ in range(2)]
    assert all_in_and_remembered_ones_prompt(api), api
    assert all_in_and_remembered_ones_prompt(broker), broker
    assert answers.get("deny", 0) >= 16 and "allow" not in answers, answers


@pytest.mark.parametrize("addresses, each", [(1, 4), (20, 1)], ids=["one address", "many addresses"])
def test_wrong_api_logins_leave_a_correct_login_from_another_address_prompt(stack, addresses, each):
    url = stack.scheduler.url
    guessers = [f"127.0.1.{index + 1}" for index in range(addresses)]
    senders = [functools.partial(wrong_api_guess, url, address) for address in guessers for _ in range(each)]
    people = [new_account(stack) for _ in range(3)]
    with flood(senders) as answers:
        steady(answers, senders, checked=len(guessers))
        logins = correct_api_logins(stack, "127.0.0.4", people)
    assert all_in_and_remembered_ones_prompt(logins), logins
    assert answers.get(401), answers  # the guesses did reach password checks


def broker_answer(stack, username, password):
    return post_from("127.0.0.1", stack.scheduler.url, "/auth/rabbitmq/user",
                     {"username": username, "password": password}, FORM)[2]


def test_wrong_amqp_passwords_for_a_workers_own_account_never_keep_the_worker_out(stack):
    # The flood fills the account's lane, and is turned away before any database read; the worker's own
    # credentials, remembered, are still answered (asked as RabbitMQ asks, past RabbitMQ's own cache).
    port = stack.rabbitmq.port
    worker = new_account(stack, "creator")
    assert broker_answer(stack, *worker).startswith("allow")  # verified once: remembered
    senders = [functools.partial(wrong_amqp_guess, port, worker[0])] * 16
    with flood(senders) as answers:
        steady(answers, senders)
        logins = []
        for _ in range(5):
            started = time.monotonic()
            logins.append((broker_answer(stack, *worker), time.monotonic() - started))
    assert all(answer.startswith("allow") and seconds < PROMPT for answer, seconds in logins), logins
    assert answers.get("deny", 0) >= 16 and "allow" not in answers, answers


def test_a_changed_password_or_a_disabled_user_no_longer_logs_in_through_remembered_credentials(stack):
    url = stack.scheduler.url
    username, password = new_account(stack, "creator")
    assert api_login(url, "127.0.0.6", username, password)[0] == 200
    assert broker_answer(stack, username, password) == "allow"  # remembered from here on
    assert stack.admin.post(f"/users/{username}/password", {"password": "a brand new password"}).status == 200
    assert api_login(url, "127.0.0.6", username, password)[0] == 401
    assert broker_answer(stack, username, password) == "deny"
    assert api_login(url, "127.0.0.6", username, "a brand new password")[0] == 200
    assert stack.admin.patch(f"/users/{username}", {"active": False}).status == 200
    assert api_login(url, "127.0.0.6", username, "a brand new password")[0] == 401
    assert broker_answer(stack, username, "a brand new password") == "deny"
