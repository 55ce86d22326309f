"""The scheduler's Prometheus endpoint: what the shop and the fleet are doing, read from the database and
the broker at each scrape (every figure costs what is in flight, never the history).

Served by a Waitress of its own on loopback (`metrics.listen`, `metrics.port`; off without a port), behind
a bearer token when `metrics.token_file` is set (Prometheus: `authorization: {credentials_file: ...}`).
"""

import hmac
import logging
import threading

import pymongo.errors
import waitress
from prometheus_client import CollectorRegistry, make_wsgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from cardshop.config import ConfigError, read_secret
from cardshop.pipeline import topology
from cardshop.store import counters, monitor_stats, now, orders, schedules, tasks, users, workers

log = logging.getLogger(__name__)
LAG_FRESH_FOR = 60  # seconds: a lag measured longer ago says nothing about now (no report came since)


class ShopCollector:
    """Collects at each scrape; a database that does not answer gives `cardshop_database_up 0` only."""

    def __init__(self, db, publisher=None):
        self.db = db
        self.publisher = publisher

    def collect(self):
        up = GaugeMetricFamily("cardshop_database_up", "Whether the scheduler's database answered this scrape.")
        try:
            families = list(self._from_database())
        except pymongo.errors.PyMongoError as exc:
            log.warning("metrics: the database did not answer: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from families
        if self.publisher is not None:
            yield self._queues()

    def _from_database(self):
        yield family(GaugeMetricFamily, "cardshop_orders", "Orders in each status (from the status counters).",
                     ["status"], {(status,): n for status, n in orders.count_by_status(self.db).items()})
        yield family(GaugeMetricFamily, "cardshop_tasks_in_flight", "Tasks queued or held by a worker, by kind "
                     "and status.", ["kind", "status"], tasks.in_flight_counts(self.db))
        yield family(CounterMetricFamily, "cardshop_cards_written", "Cards written and verified since the "
                     "counters began.", [], {(): counters.value(self.db, "cards", "written")})
        states, rates = {}, {}
        for doc in workers.live_writers_at(self.db, now()):
            slot = doc.get("slot")
            if not isinstance(slot, dict):
                continue
            host = f"{doc.get('username')}@{doc.get('host')}"
            states[(host, str(slot.get("state")))] = states.get((host, str(slot.get("state"))), 0) + 1
            if slot.get("state") == "busy" and isinstance(slot.get("rate"), (int, float)):
                rates[(host, str(slot.get("number")), str(slot.get("step")))] = slot["rate"]
        yield family(GaugeMetricFamily, "cardshop_slots", "Live writer slots by host and state.", ["host", "state"],
                     states)
        yield family(GaugeMetricFamily, "cardshop_slot_rate_bytes", "A busy slot's write or verify rate, bytes/s.",
                     ["host", "slot", "step"], rates)
        yield family(CounterMetricFamily, "cardshop_monitor_dropped_reports", "Reports the monitor dropped, by why.",
                     ["why"], {(why,): n for why, n in monitor_stats.drops(self.db).items()})
        yield family(CounterMetricFamily, "cardshop_claims", "Claims of a delivery the monitor answered, by "
                     "decision (accepted, refused, wait).", ["decision"],
                     {(decision,): n for decision, n in monitor_stats.counts(self.db, monitor_stats.CLAIMS).items()})
        yield family(GaugeMetricFamily, "cardshop_monitor_lag_seconds", "The longest a report applied in the "
                     f"last seconds took from its sending to its application (0: none in {LAG_FRESH_FOR} s).", [],
                     {(): monitor_stats.lag(self.db, now(), LAG_FRESH_FOR)})
        yield family(GaugeMetricFamily, "cardshop_beat_job_duration_seconds", "How long each schedule's last run "
                     "took.", ["schedule", "job"], {(run["name"], run["job"]): run["last_duration"]
                                                    for run in schedules.last_runs(self.db)})

    def _queues(self):
        """Messages ready in each work queue: `create`, each writer host's, each worker account's reports
        (the monitor's backlog)."""
        depth = GaugeMetricFamily("cardshop_queue_messages", "Messages ready in a RabbitMQ queue.",
                                  labels=["queue"])
        names = [topology.CREATE_QUEUE_NAME]
        for account in users.active_workers(self.db):
            if account["role"] == "writer":
                names.append(topology.write_queue_name(account["username"]))
            names.append(topology.reports_queue_name(account["username"]))
        for name in names:
            count = self.publisher.message_count(name)
            if count is not None:
                depth.add_metric([name], count)
        return depth


def family(kind, name, documentation, labels, values):
    """A metric family of `kind` with one sample per {label values tuple: value}, in label order."""
    made = kind(name, documentation, labels=labels)
    for label_values, value in sorted(values.items()):
        made.add_metric(list(label_values), value)
    return made


def with_token(app, token):
    """`app` answering only requests that carry `Authorization: Bearer <token>`."""
    expected = f"Bearer {token}".encode()

    def guarded(environ, start_response):
        given = environ.get("HTTP_AUTHORIZATION", "").encode()
        if not hmac.compare_digest(given, expected):
            start_response("401 Unauthorized", [("Content-Type", "text/plain"),
                                                ("WWW-Authenticate", 'Bearer realm="cardshop metrics"')])
            return [b"a bearer token is required\n"]
        return app(environ, start_response)
    return guarded


def start(config, db, publisher):
    """Serve the metrics in a thread when `metrics.port` is set; the server, or None."""
    settings = config["metrics"]
    if not settings.get("port"):
        return None
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ShopCollector(db, publisher))
    app = make_wsgi_app(registry)
    if settings.get("token_file"):
        app = with_token(app, read_secret(settings["token_file"], "metrics.token_file"))
    try:
        server = waitress.create_server(app, host=settings["listen"], port=settings["port"], threads=2,
                                        ident="cardshop-metrics")
    except OSError as exc:  # taken by another program: say which key, not a traceback
        raise ConfigError(f"key 'metrics.port': cannot listen on {settings['listen']}:{settings['port']} "
                          f"({exc.strerror or exc})") from None
    threading.Thread(target=server.run, name="metrics", daemon=True).start()
    log.info("serving metrics on http://%s:%s/metrics", settings["listen"], settings["port"])
    return server
