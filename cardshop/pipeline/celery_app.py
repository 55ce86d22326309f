"""The Celery application every Cardshop process builds from its `broker` config."""

import ssl

from celery import Celery

from cardshop.config.rules import broker_url
from cardshop.pipeline import topology

# For app.Worker in workers: no Celery events at all (no task events, gossip,
# mingle or event heartbeats), so nothing declares or publishes to `celeryev`,
# on which workers have no rights; liveness goes through pipeline/heartbeat.py.
WORKER_OPTIONS = {"task_events": False, "without_gossip": True, "without_mingle": True,
                  "without_heartbeat": True}


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
