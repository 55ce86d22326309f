"""RabbitMQ really asks the scheduler who may log in and what they may touch."""

import time

import amqp
import pytest

from tests.conftest import unique


def connect(rabbitmq, username, password, vhost="cardshop"):
    connection = amqp.Connection(f"127.0.0.1:{rabbitmq.port}", userid=username, password=password,
                                 virtual_host=vhost, connect_timeout=10)
    connection.connect()
    return connection


@pytest.fixture(scope="module")
def topology(rabbitmq, scheduler):
    """What the system user declares: work queues and the reports exchange."""
    connection = connect(rabbitmq, scheduler.system["username"], scheduler.system["password"])
    channel = connection.channel()
    channel.exchange_declare("reports", "direct", durable=True, auto_delete=False)
    channel.queue_declare("reports", durable=True, auto_delete=False)
    channel.queue_bind("reports", "reports", "report")
    channel.queue_declare("create", durable=True, auto_delete=False)
    yield channel
    connection.close()


@pytest.fixture
def writer_queue(topology, make_user):
    def make():
        user = make_user("writer")
        topology.queue_declare(f"write.{user.username}", durable=True, auto_delete=False)
        return user
    return make


def refused(excinfo):
    return "ACCESS_REFUSED" in str(excinfo.value) or "403" in str(excinfo.value)


def test_a_writer_logs_in_with_its_password_and_reads_its_own_queue(rabbitmq, writer_queue):
    writer = writer_queue()
    connection = connect(rabbitmq, writer.username, writer.password)
    channel = connection.channel()
    channel.basic_consume(f"write.{writer.username}", callback=lambda message: None)
    connection.close()


def test_a_wrong_password_is_refused(rabbitmq, writer_queue):
    writer = writer_queue()
    with pytest.raises(amqp.exceptions.AccessRefused) as excinfo:
        connect(rabbitmq, writer.username, "not the password")
    assert refused(excinfo)


def test_a_writer_cannot_consume_create_or_another_writers_queue(rabbitmq, writer_queue):
    writer, other = writer_queue(), writer_queue()
    for queue in ("create", f"write.{other.username}", "reports"):
        connection = connect(rabbitmq, writer.username, writer.password)
        with pytest.raises(amqp.exceptions.AccessRefused) as excinfo:
            connection.channel().basic_consume(queue, callback=lambda message: None)
        assert refused(excinfo), queue
        connection.collect()


def test_a_creator_consumes_create_and_nothing_else(rabbitmq, topology, make_user):
    creator = make_user("creator")
    connection = connect(rabbitmq, creator.username, creator.password)
    connection.channel().basic_consume("create", callback=lambda message: None)
    with pytest.raises(amqp.exceptions.AccessRefused):
        connection.channel().queue_declare("create2", durable=True)
    connection.collect()


def test_workers_publish_to_their_own_exchange_only(rabbitmq, topology, make_user):
    creator, other = make_user("creator"), make_user("creator")
    for user in (creator, other):
        topology.exchange_declare(f"from.{user.username}", "direct", durable=True, auto_delete=False)
    connection = connect(rabbitmq, creator.username, creator.password)
    channel = connection.channel()
    channel.basic_publish_confirm(amqp.Message(b"progress", delivery_mode=2), exchange=f"from.{creator.username}",
                                  routing_key="report", confirm_timeout=10)
    # Not the shared exchange of old, not another account's (its queues would fill), not the default one.
    for exchange, key in (("reports", "report"), (f"from.{other.username}", "report"), ("", "create")):
        with pytest.raises(amqp.exceptions.AccessRefused):
            connection.channel().basic_publish_confirm(amqp.Message(b"fake"), exchange=exchange,
                                                       routing_key=key, confirm_timeout=10)
    connection.collect()


def test_managers_and_unknown_users_cannot_log_in(rabbitmq, make_user):
    manager = make_user("manager")
    with pytest.raises(amqp.exceptions.AccessRefused):
        connect(rabbitmq, manager.username, manager.password)
    with pytest.raises(amqp.exceptions.AccessRefused):
        connect(rabbitmq, unique("ghost"), "whatever password")


def test_only_the_cardshop_vhost_is_allowed(rabbitmq, writer_queue):
    writer = writer_queue()
    with pytest.raises((amqp.exceptions.AccessRefused, amqp.exceptions.NotAllowed, ConnectionError)):
        connect(rabbitmq, writer.username, writer.password, vhost="/")


def test_a_disabled_worker_is_refused_once_the_cache_expires(rabbitmq, admin, writer_queue):
    writer = writer_queue()
    connect(rabbitmq, writer.username, writer.password).close()
    admin.patch(f"/users/{writer.username}", {"active": False})
    time.sleep(rabbitmq.cache_ttl_ms / 1000 + 0.5)
    with pytest.raises(amqp.exceptions.AccessRefused):
        connect(rabbitmq, writer.username, writer.password)


@pytest.mark.parametrize("role", ["creator", "writer"])
def test_workers_declare_and_delete_no_exchange(rabbitmq, topology, make_user, role):
    worker = make_user(role)
    connection = connect(rabbitmq, worker.username, worker.password)
    for name in ("celeryev", "reports", "cancel", "create", "write", "amq.topic", "mine"):
        for action in (lambda channel: channel.exchange_declare(name, "fanout", durable=True, auto_delete=False),
                       lambda channel: channel.exchange_delete(name)):
            with pytest.raises(amqp.exceptions.AccessRefused) as excinfo:
                action(connection.channel())
            assert refused(excinfo), name
    with pytest.raises(amqp.exceptions.AccessRefused):
        connection.channel().basic_publish_confirm(amqp.Message(b"{}"), exchange="celeryev",
                                                   routing_key="worker.heartbeat", confirm_timeout=10)
    connection.collect()
