"""Exchanges, queues and routing: what the system user declares, what workers only use.

    exchange  create  (direct) --create-------> queue create         (creators)
    exchange  write   (direct) --write.<user>-> queue write.<user>   (one writer host)
    exchange  reports (direct) --report-------> queue reports        (the monitor:
                                                  reports and heartbeats)
    exchange  cancel  (fanout) ---------------> each worker's private queue
    exchange  beat    (direct) --beat---------> queue beat            (the beat's own jobs)

Workers declare nothing (least privilege; the broker refuses them): the
monitor declares everything at start, and the publisher declares a writer
host's queue before its first task. Workers send no Celery events, so
Celery's `celeryev` exchange plays no part.
"""

from kombu import Exchange, Queue

CREATE_EXCHANGE = Exchange("create", type="direct", durable=True)
WRITE_EXCHANGE = Exchange("write", type="direct", durable=True)
REPORTS_EXCHANGE = Exchange("reports", type="direct", durable=True)
CANCEL_EXCHANGE = Exchange("cancel", type="fanout", durable=True)
CANCEL_EXCHANGE_AS_WORKER = Exchange("cancel", type="fanout", durable=True, passive=True)  # workers declare nothing
EVENTS_EXCHANGE = Exchange("celeryev", type="topic", durable=True)  # Celery's own
BEAT_QUEUE = Queue("beat", Exchange("beat", type="direct", durable=True), routing_key="beat", durable=True)
REPORT_KEY = "report"

CREATE_TASK = "cardshop.create"
WRITE_TASK = "cardshop.write"


def create_queue(no_declare=False):
    return Queue("create", CREATE_EXCHANGE, routing_key="create", durable=True, no_declare=no_declare)


def write_queue_name(writer_username):
    return f"write.{writer_username}"


def write_queue(writer_username, no_declare=False):
    name = write_queue_name(writer_username)
    return Queue(name, WRITE_EXCHANGE, routing_key=name, durable=True, no_declare=no_declare)


def reports_queue(no_declare=False):
    return Queue("reports", REPORTS_EXCHANGE, routing_key=REPORT_KEY, durable=True, no_declare=no_declare)


def declare_all(connection):
    """Declare the fixed exchanges and queues (the system user's job; idempotent)."""
    channel = connection.default_channel
    for queue in (create_queue(), reports_queue()):
        queue(channel).declare()
    WRITE_EXCHANGE(channel).declare()
    CANCEL_EXCHANGE(channel).declare()


def declare_write_queue(connection, writer_username):
    write_queue(writer_username)(connection.default_channel).declare()
