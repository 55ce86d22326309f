"""The attacker's tools: raw AMQP as a worker account, what the monitor says it dropped, and a second
scheduler with strict settings for attacks the shared one is too lenient for."""

import datetime
import json

import amqp
import pytest

from cardshop.client import ApiClient
from devstack.servers import Scheduler
from tests.integration.claiming import accepted
from tests.integration.pipeline.test_monitor import take_message


class Hostile:
    """A worker account used the way an attacker would: any exchange, any body, any property."""

    def __init__(self, pipeline, role):
        self.pipeline = pipeline
        self.username, self.password, self.app = pipeline.worker(role)
        self.connection = amqp.Connection(f"127.0.0.1:{pipeline.rabbitmq.port}", userid=self.username,
                                          password=self.password, virtual_host="cardshop", connect_timeout=10)
        self.connection.connect()

    def channel(self):
        """A fresh channel (the broker closes a channel on the first refusal)."""
        channel = self.connection.channel()
        channel.confirm_select()
        return channel

    def publish(self, body, exchange=None, routing_key="report", content_type="application/json",
                user_id=True, headers=None):
        """Publish to `exchange` (the account's own `from.<user>` by default), confirmed."""
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        properties = {"content_type": content_type, "delivery_mode": 2}
        if headers:
            properties["application_headers"] = headers
        if user_id:
            properties["user_id"] = self.username
        exchange = f"from.{self.username}" if exchange is None else exchange
        self.channel().basic_publish_confirm(amqp.Message(raw, **properties), exchange=exchange,
                                             routing_key=routing_key, confirm_timeout=10)

    def claim(self, task_id, queue="create", **fields):
        """Take the task's message from `queue` and claim it (accepted); the run that holds the task."""
        return accepted(self.app, self.username, take_message(self.app, queue, task_id)[1], **fields)

    def heartbeat(self, worker=None, **fields):
        self.publish(heartbeat(worker or f"{self.username}@host", **fields))

    def flood(self, bodies):
        """Publish JSON `bodies` to the account's exchange on one channel, as fast as the broker reads them."""
        channel = self.connection.channel()
        for body in bodies:
            channel.basic_publish(amqp.Message(json.dumps(body).encode(), content_type="application/json",
                                               delivery_mode=2, user_id=self.username),
                                  exchange=f"from.{self.username}", routing_key="report")
        channel.close()  # a round trip: the broker has read every message before it answers

    def close(self):
        try:
            self.connection.close()
        except Exception:  # already closed by a refusal
            pass


def heartbeat(worker, **fields):
    """A heartbeat's body, as a worker sends it (fields override)."""
    return {"type": "heartbeat", "worker": worker, "online": True,
            "at": datetime.datetime.now(datetime.timezone.utc).isoformat(), **fields}


@pytest.fixture
def hostile(pipeline):
    made = []

    def make(role):
        made.append(Hostile(pipeline, role))
        return made[-1]
    yield make
    for attacker in made:
        attacker.close()


@pytest.fixture(scope="module")
def creator(pipeline):
    """A creator daemon on the requesting module's pipeline."""
    creator = pipeline.start_creator()
    yield creator
    creator.stop()


def refused(excinfo):
    return "ACCESS_REFUSED" in str(excinfo.value) or "403" in str(excinfo.value)


BROKER_ADDRESS = "127.0.0.9"
STRICT = {
    # one address gets 6 password checks at once, then 1 a second; failures are forgotten after 2 s
    "auth": {"bcrypt_rounds": 4, "max_failures": 3, "lockout": 30, "max_lockout": 60,
             "failure_window": 2, "login_rate": 1, "login_burst": 6},
    "rabbitmq": {"broker_addresses": [BROKER_ADDRESS]},
}


@pytest.fixture(scope="session")
def strict_scheduler(tmp_path_factory, ferretdb):
    server = Scheduler(str(tmp_path_factory.mktemp("strict")), ferretdb.url, db_name="strict", overrides=STRICT)
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def strict_db(strict_scheduler, db):
    return db.client["strict"]


@pytest.fixture(scope="session")  # one login: the strict scheduler allows few per address
def strict_admin(strict_scheduler):
    reply = ApiClient(strict_scheduler.url).post("/auth/authorize", strict_scheduler.admin)
    assert reply.status == 200, reply
    return ApiClient(strict_scheduler.url, reply.body["access_token"])
