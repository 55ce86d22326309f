"""The Celery application every Cardshop process builds from its `broker` config."""

import ssl
import urllib.parse

from celery import Celery

from cardshop.config import ConfigError, read_secret
from cardshop.pipeline import topology

_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}

# For app.Worker in workers: no Celery events at all (no task events, gossip,
# mingle or event heartbeats), so nothing declares or publishes to `celeryev`,
# on which workers have no rights; liveness goes through pipeline/heartbeat.py.
WORKER_OPTIONS = {"task_events": False, "without_gossip": True, "without_mingle": True,
                  "without_heartbeat": True}


def broker_url(broker):
    """The URL with credentials; plain amqp:// only on loopback."""
    parsed = urllib.parse.urlsplit(broker["url"])
    if parsed.scheme == "amqp" and parsed.hostname not in _LOOPBACK:
        raise ConfigError("key 'broker.url': plain amqp:// is only allowed on loopback; use amqps://")
    password = read_secret(broker["password_file"], "broker.password_file")
    credentials = f"{urllib.parse.quote(broker['username'], safe='')}:{urllib.parse.quote(password, safe='')}"
    return f"{parsed.scheme}://{credentials}@{parsed.netloc}{parsed.path}"


def _tls(broker):
    if not broker["url"].startswith("amqps://"):
        return False
    options = {"cert_reqs": ssl.CERT_REQUIRED}
    if broker.get("ca_file"):
        options["ca_certs"] = broker["ca_file"]
    return options


def make_celery(broker, name, worker_queues=()):
    """A Celery app for publishing (scheduler, monitor, beat) or for a worker's queues."""
    app = Celery(name, set_as_current=False)
    app.conf.update(
        broker_url=broker_url(broker),
        broker_use_ssl=_tls(broker),
        broker_heartbeat=broker["heartbeat"],
        broker_connection_timeout=5,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        # Publisher confirms: a publish returns once the broker holds the message.
        broker_transport_options={"confirm_publish": True},
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,
        task_serializer="json",
        accept_content=["json"],
        task_create_missing_queues=False,
        task_queues=list(worker_queues),
        task_default_delivery_mode="persistent",
        # No pidbox queues: workers get no remote control, and need no rights for it.
        worker_enable_remote_control=False,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        enable_utc=True,
        timezone="UTC",
    )
    return app


def worker_queue_for(kind, username):
    """The queue a worker consumes, without declaring it (the system user does)."""
    if kind == "create":
        return topology.create_queue(no_declare=True)
    return topology.write_queue(username, no_declare=True)
