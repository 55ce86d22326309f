"""/auth/rabbitmq/* answer only the broker's addresses; everyone else gets 403 unanswered."""

import pytest

from tests.integration.security.concurrency import post_from
from tests.integration.security.conftest import BROKER_ADDRESS

FORM = "application/x-www-form-urlencoded"
ROUTES = ["/auth/rabbitmq/user", "/auth/rabbitmq/vhost", "/auth/rabbitmq/resource", "/auth/rabbitmq/topic"]


@pytest.mark.parametrize("path", ROUTES)
def test_a_caller_that_is_not_the_broker_gets_403_and_no_answer(strict_scheduler, path):
    form = {**strict_scheduler.admin, "vhost": "cardshop", "resource": "queue", "name": "create",
            "permission": "read", "routing_key": "x"}
    status, _, body = post_from("127.0.0.1", strict_scheduler.url, path, form, FORM)
    assert status == 403 and "allow" not in body and "deny" not in body, (status, body)


def test_the_broker_address_gets_its_answers(strict_scheduler):
    status, _, body = post_from(BROKER_ADDRESS, strict_scheduler.url, "/auth/rabbitmq/user",
                                strict_scheduler.admin, FORM)
    assert (status, body) == (200, "allow administrator management")
    status, _, body = post_from(BROKER_ADDRESS, strict_scheduler.url, "/auth/rabbitmq/user",
                                {"username": "nobody-at-all", "password": "x"}, FORM)
    assert (status, body) == (200, "deny")


def test_a_question_relayed_by_a_trusted_proxy_is_not_the_brokers_though_both_use_loopback(scheduler):
    # The TLS front and the broker both reach the scheduler from 127.0.0.1: the front names its client.
    status, _, body = post_from("127.0.0.1", scheduler.url, "/auth/rabbitmq/user", scheduler.admin, FORM,
                                headers={"X-Cardshop-Client-Address": "203.0.113.5"})
    assert status == 403 and "allow" not in body and "deny" not in body, (status, body)
    status, _, body = post_from("127.0.0.1", scheduler.url, "/auth/rabbitmq/user", scheduler.admin, FORM)
    assert (status, body) == (200, "allow administrator management")
