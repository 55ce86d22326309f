"""The broker role's rabbitmq.conf and certificate, rendered by ansible-playbook, run a real RabbitMQ node.

Workers log in over AMQPS (the fleet CA's certificate, checked with the host's
name) and RabbitMQ asks a real scheduler through the HTTP backend and its cache.
"""

import os
import shutil
import socket
import ssl

import amqp
import pytest

from devstack.processes import free_port
from devstack.servers import RabbitMQ
from tests.ansible.test_templates import CENTRAL, render

pytestmark = pytest.mark.integration


class RenderedRabbitMQ(RabbitMQ):
    """devstack's private node, with the configuration files the role rendered."""

    def __init__(self, base, api_url, rendered, port, tls_port):
        super().__init__(base, api_url, port=port)
        self.rendered = rendered
        self.tls_port = tls_port

    def write_config(self):
        os.makedirs(os.path.join(self.dir, "log"), mode=0o700, exist_ok=True)
        os.chmod(self.dir, 0o700)
        with open(os.path.join(self.rendered, "rabbitmq.conf")) as handle:
            config = handle.read()
        with open(os.path.join(self.dir, "rabbitmq.conf"), "w") as handle:
            handle.write(config + "log.console = false\nlog.file.level = info\n")  # the stack's log place
        shutil.copy(os.path.join(self.rendered, "enabled_plugins"), os.path.join(self.dir, "enabled_plugins"))


@pytest.fixture(scope="module")
def broker(ansible_bin, scheduler, tmp_path_factory):
    # RabbitMQ runs on without a listener whose port was taken meanwhile: then render again with others.
    for attempt in range(3):
        folder = tmp_path_factory.mktemp("broker-render")
        port, tls_port = free_port(), free_port()
        render(ansible_bin, folder, "--limit", CENTRAL, "-e", f"cardshop_broker_local_listener=127.0.0.1:{port}",
               "-e", "cardshop_broker_tls_address=127.0.0.1", "-e", f"cardshop_broker_tls_port={tls_port}",
               "-e", f"cardshop_broker_auth_url={scheduler.url.rstrip('/')}")
        node = RenderedRabbitMQ(str(tmp_path_factory.mktemp("broker-node")), scheduler.url,
                                str(folder / CENTRAL / "rabbitmq"), port, tls_port)
        node.start()
        if listening(tls_port) or attempt == 2:
            break
        node.stop()
    yield node, folder
    node.stop()


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return True
    except OSError:
        return False


def connect_tls(node, folder, username, password):
    connection = amqp.Connection(
        host=f"127.0.0.1:{node.tls_port}", userid=username, password=password, virtual_host="cardshop",
        ssl={"context": {"cafile": str(folder / "pki" / "ca.crt"), "check_hostname": True},
             "server_hostname": CENTRAL},
        connect_timeout=10)
    connection.connect()
    return connection


def test_a_worker_logs_in_over_tls_checked_with_the_fleet_ca_and_the_scheduler(broker, scheduler):
    node, folder = broker
    password, _ = scheduler.worker_user("ansible-creator", "creator")
    connection = connect_tls(node, folder, "ansible-creator", password)
    try:
        assert connection.connected
        assert connection.server_properties["product"] == "RabbitMQ"
    finally:
        connection.close()


def test_a_wrong_password_is_refused_by_the_scheduler(broker, scheduler):
    node, folder = broker
    scheduler.worker_user("ansible-writer", "writer")
    with pytest.raises(amqp.exceptions.AccessRefused):
        connect_tls(node, folder, "ansible-writer", "not-the-password")


def test_a_client_that_does_not_trust_the_fleet_ca_is_refused(broker):
    node, _ = broker
    connection = amqp.Connection(host=f"127.0.0.1:{node.tls_port}", userid="x", password="y",
                                 virtual_host="cardshop", connect_timeout=10,
                                 ssl={"context": {"check_hostname": True}, "server_hostname": CENTRAL})
    with pytest.raises(ssl.SSLCertVerificationError):
        connection.connect()


def test_the_consumer_timeout_and_plugins_are_in_force(broker):
    node, _ = broker
    timeout = node.ctl("eval", "application:get_env(rabbit, consumer_timeout).").stdout.strip()
    assert timeout == "{ok,86400000}"
    plugins = node.ctl("eval", "rabbit_plugins:active().").stdout
    assert "rabbitmq_auth_backend_http" in plugins and "rabbitmq_auth_backend_cache" in plugins
    backends = node.ctl("eval", "application:get_env(rabbit, auth_backends).").stdout
    assert "rabbit_auth_backend_cache" in backends
