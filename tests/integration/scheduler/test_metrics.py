"""The scheduler's Prometheus endpoint, scraped by a real Prometheus (Debian's binary) from the pipeline:
an order waiting for a creator shows in the order and task figures and in the `create` queue's depth."""

import json
import os
import shutil
import signal
import time
import urllib.parse
import urllib.request

import pytest
import yaml

from devstack.processes import Process, free_port, wait_for_port, wait_until
from devstack.servers import REPO, Scheduler
from cardshop.pipeline.reports import Reporter
from tests.conftest import order_body
from tests.integration.claiming import accepted, claim
from tests.integration.pipeline.test_monitor import create_task_of, take_message

PROMETHEUS = os.path.join(REPO, "var", "prometheus", "usr", "bin", "prometheus")


@pytest.fixture(scope="module")
def metrics_scheduler(pipeline, ferretdb, tmp_path_factory):
    """A second scheduler on the pipeline's database and broker, serving metrics behind a token; it shares
    the first one's secrets (it keeps the system user's password in step with its own file at start)."""
    base = str(tmp_path_factory.mktemp("metrics"))
    secrets = os.path.join(base, "scheduler", "secrets")
    shutil.copytree(pipeline.scheduler.secrets, secrets)
    token_file = os.path.join(base, "metrics.token")
    with open(os.open(token_file, os.O_WRONLY | os.O_CREAT, 0o600), "w") as handle:
        handle.write("a-long-scrape-token-for-the-test\n")
    port = free_port()
    scheduler = Scheduler(base, ferretdb.user_url("cardshop_scheduler"), db_name=pipeline.db_name,
                          broker_url=pipeline.rabbitmq.url,
                          overrides={"metrics": {"port": port, "token_file": token_file}})
    scheduler.start()
    scheduler.metrics_url = f"http://127.0.0.1:{port}/metrics"
    scheduler.token_file = token_file
    yield scheduler
    scheduler.stop()


def scrape(url, token=None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def figure(text, name, **labels):
    """The value of sample `name{labels}` in an exposition, or None."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{wanted}}} ") or (not labels and line.startswith(f"{name} ")):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_the_metrics_need_the_token_and_show_an_order_waiting_for_a_creator(pipeline, metrics_scheduler):
    assert scrape(metrics_scheduler.metrics_url)[0] == 401
    assert scrape(metrics_scheduler.metrics_url, "wrong")[0] == 401
    token = open(metrics_scheduler.token_file).read().strip()
    _, before = scrape(metrics_scheduler.metrics_url, token)
    created = figure(before, "cardshop_orders", status="created") or 0
    order = pipeline.admin.post("/orders", order_body()).body  # no creator runs in this module
    try:
        status, text = scrape(metrics_scheduler.metrics_url, token)
        assert status == 200 and figure(text, "cardshop_database_up") == 1
        assert figure(text, "cardshop_orders", status="created") == created + 1
        assert figure(text, "cardshop_tasks_in_flight", kind="create", status="pending") >= 1
        assert wait_until(lambda: (figure(scrape(metrics_scheduler.metrics_url, token)[1], "cardshop_queue_messages",
                                          queue="create") or 0) >= 1, timeout=30)
        assert figure(text, "cardshop_cards_written_total") is not None
    finally:
        pipeline.admin.post(f"/orders/{order['_id']}/cancel", {})


def test_claims_by_decision_and_the_monitors_lag_while_it_was_frozen(pipeline, metrics_scheduler):
    token = open(metrics_scheduler.token_file).read().strip()

    def now_shows():
        return scrape(metrics_scheduler.metrics_url, token)[1]
    before = now_shows()
    counts = {decision: figure(before, "cardshop_claims_total", decision=decision) or 0
              for decision in ("accepted", "wait")}
    creator, _, app = pipeline.worker("creator")
    order = pipeline.admin.post("/orders", order_body()).body
    try:
        task_id = create_task_of(order)["_id"]
        payload = take_message(app, "create", task_id)[1]
        run = accepted(app, creator, payload)
        assert claim(app, creator, payload)["decision"] == "wait"  # another run, while the first holds it
        monitor = pipeline.monitor.process.popen.pid
        os.kill(monitor, signal.SIGSTOP)  # the report waits in RabbitMQ for the monitor
        try:
            Reporter(app, creator, task_id, run=run).log("sent while the monitor is frozen")
            time.sleep(3)
        finally:
            os.kill(monitor, signal.SIGCONT)
        shown = wait_until(lambda: (lambda text: text if (figure(text, "cardshop_monitor_lag_seconds") or 0) >= 2.5
                                    else None)(now_shows()), timeout=30)
        assert figure(shown, "cardshop_claims_total", decision="accepted") == counts["accepted"] + 1
        assert figure(shown, "cardshop_claims_total", decision="wait") == counts["wait"] + 1
    finally:
        pipeline.admin.post(f"/orders/{order['_id']}/cancel", {})


def test_a_real_prometheus_scrapes_it_and_answers_a_query(metrics_scheduler, tmp_path):
    assert os.access(PROMETHEUS, os.X_OK), f"{PROMETHEUS} is missing: run `make deps`"
    url = urllib.parse.urlsplit(metrics_scheduler.metrics_url)
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump({
        "global": {"scrape_interval": "1s"},
        "scrape_configs": [{"job_name": "cardshop", "static_configs": [{"targets": [url.netloc]}],
                            "authorization": {"credentials_file": metrics_scheduler.token_file}}]}))
    port = free_port()
    prometheus = Process("prometheus", str(tmp_path))
    prometheus.start([PROMETHEUS, f"--config.file={tmp_path / 'prometheus.yml'}",
                      f"--storage.tsdb.path={tmp_path / 'data'}", f"--web.listen-address=127.0.0.1:{port}"])
    try:
        wait_for_port(port, 60, prometheus.popen, "prometheus", prometheus.log_path)
        query = urllib.parse.urlencode({"query": "cardshop_database_up"})

        def answered():
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/query?{query}", timeout=5) as reply:
                result = json.load(reply)["data"]["result"]
            return result and result[0]["value"][1] == "1"
        assert wait_until(answered, timeout=60, interval=1)
    finally:
        prometheus.stop()
