"""The creator's Celery worker: one `cardshop.create` task, run in threads."""

import logging
import socket
import uuid

from cardshop.cancellable import Canceled
from cardshop.config import read_secret
from cardshop.creator.cache import Cache
from cardshop.creator.job import CreateJob
from cardshop.pipeline import topology
from cardshop.pipeline.cancel import CancelListener
from cardshop.pipeline.claims import ClaimClient, ClaimRefused
from cardshop.pipeline.celery_app import make_celery, worker_queue_for
from cardshop.client import TokenSource
from cardshop.pipeline.reports import Reporter

log = logging.getLogger(__name__)


def build_worker(config):
    """The Celery app with its task registered, and the cancel listener."""
    broker = config["broker"]
    username = broker["username"]
    app = make_celery(broker, "cardshop-creator", worker_queues=[worker_queue_for("create", username)])
    settings = config["creator"]
    tokens = TokenSource(config["scheduler"]["api_url"], username,
                         read_secret(broker["password_file"], "broker.password_file"),
                         ca_file=config["scheduler"].get("ca_file"))
    cache = Cache(settings["cache_dir"], settings["cache_max_bytes"], settings["download_timeout"],
                  allow=settings["fetch_allow"])
    listener = CancelListener(app)
    claims = ClaimClient(app, username, socket.gethostname())
    ca_file = config["warehouse"].get("ca_file")

    @app.task(name=topology.CREATE_TASK, bind=True)
    def create(self, **payload):
        task_id, run = payload["task"], uuid.uuid4().hex
        cancel = listener.register(task_id)
        try:
            try:  # nothing before the claim is accepted (docs/decisions/claims.md)
                claims.claim(payload, run, cancel)
            except ClaimRefused as exc:
                log.info("task %s: claim refused (%s); message dropped", task_id, exc)
                return "refused"
            except Canceled as exc:
                log.info("task %s canceled before it was claimed: %s", task_id, exc)
                return "canceled"
            reporter = Reporter(app, username, task_id, run=run)
            with claims.lease(payload, run, cancel):
                return CreateJob(settings, reporter, tokens, cache, cancel, username, ca_file).run(payload)
        finally:
            listener.unregister(task_id)

    return app, listener
