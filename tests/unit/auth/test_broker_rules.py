"""Who may do what on the broker."""

import pytest

from cardshop.auth import broker


@pytest.mark.parametrize("role, tags", [
    ("admin", broker.ADMIN_TAGS), ("system", broker.ADMIN_TAGS), ("creator", ""), ("writer", ""),
    ("manager", None),
])
def test_only_broker_roles_log_in_and_only_admins_get_tags(role, tags):
    assert broker.user_tags(role) == tags


@pytest.mark.parametrize("role, user, resource, name, permission, allowed", [
    ("creator", "c1", "queue", "create", "read", True),
    ("creator", "c1", "queue", "create", "configure", False),
    ("creator", "c1", "queue", "write.w1", "read", False),
    ("writer", "w1", "queue", "write.w1", "read", True),
    ("writer", "w1", "queue", "write.w1.3", "read", True),
    ("writer", "w1", "queue", "write.w10", "read", False),
    ("writer", "w1", "queue", "write.w2", "read", False),
    ("writer", "w1", "queue", "create", "read", False),
    ("writer", "w1", "queue", "reports", "read", False),
    ("writer", "w1", "exchange", "reports", "write", False),
    ("writer", "w1", "exchange", "from.w1", "write", True),
    ("writer", "w1", "exchange", "from.w2", "write", False),
    ("writer", "w1", "exchange", "from.w1", "configure", False),
    ("creator", "c1", "exchange", "from.c1", "write", True),
    ("creator", "c1", "exchange", "from.c10", "write", False),
    ("creator", "c1", "queue", "claims.c1", "read", False),
    ("creator", "c1", "queue", "reports.c1", "read", False),
    ("creator", "c1", "queue", "amq.rabbitmq.reply-to", "read", True),
    ("creator", "c1", "queue", "amq.rabbitmq.reply-to", "configure", False),
    ("creator", "c1", "exchange", "celeryev", "write", False),
    ("creator", "c1", "exchange", "celeryev", "configure", False),
    ("creator", "c1", "exchange", "create", "write", False),
    ("creator", "c1", "exchange", "amq.default", "write", False),
    ("writer", "w1", "exchange", "reports", "configure", False),
    ("writer", "w1", "exchange", "celeryev", "configure", False),
    ("writer", "w1", "exchange", "reports", "configure", False),
    ("writer", "w1", "exchange", "cancel", "configure", False),
    ("writer", "w1", "exchange", "create", "configure", False),
    ("creator", "c1", "exchange", "write", "configure", False),
    ("writer", "w1", "exchange", "amq.gen-Xy1", "configure", False),
    ("writer", "w1", "exchange", "celeryev", "read", False),
    ("manager", "m1", "queue", "create", "read", False),
    ("creator", "c1", "queue", "amq.gen-Xy1", "configure", True),
    ("writer", "w1", "exchange", "cancel", "read", True),
    ("writer", "w1", "exchange", "cancel", "write", False),
    ("manager", "m1", "queue", "amq.gen-Xy1", "configure", False),
    ("system", "s", "queue", "anything", "configure", True),
    ("admin", "a", "exchange", "anything", "configure", True),
])
def test_resource_rules(role, user, resource, name, permission, allowed):
    assert broker.resource_allowed(role, user, resource, name, permission) is allowed


@pytest.mark.parametrize("role, name, permission, key, allowed", [
    ("creator", "celeryev", "write", "worker.heartbeat", False),
    ("creator", "celeryev", "write", "other.thing", False),
    ("writer", "celeryev", "read", "worker.heartbeat", False),
    ("writer", "amq.topic", "write", "anything", False),
    ("system", "celeryev", "read", "#", True),
])
def test_topic_rules(role, name, permission, key, allowed):
    assert broker.topic_allowed(role, name, permission, key) is allowed


@pytest.mark.parametrize("role", ["creator", "writer"])
@pytest.mark.parametrize("name", ["celeryev", "reports", "from.w1", "cancel", "create", "write", "amq.topic",
                                  "anything"])
def test_workers_configure_no_exchange_at_all(role, name):
    assert broker.resource_allowed(role, "w1", "exchange", name, "configure") is False
