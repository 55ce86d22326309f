"""Exchanges, queues and routing: what the system user declares, what workers only use.

    exchange  create  (direct) --create-------> queue create          (creators)
    exchange  write   (direct) --write.<user>-> queue write.<user>    (one writer host)
    exchange  from.<user> (direct) --report---> queue reports.<user>  (the monitor: one worker
                                   --claim----> queue claims.<user>    account's reports and
                                                                       heartbeats; its claims)
    exchange  cancel  (fanout) ---------------> each worker's private queue
    exchange  beat    (direct) --beat---------> queue beat            (the beat's own jobs)

Workers declare nothing (least privilege; the broker refuses them): the
monitor declares the fixed ones at start and each worker account's own
exchange and queues as accounts appear, and the publisher declares a writer
host's queue before its first task. A worker may publish only to its own
`from.<user>`, so one account's flood waits in its own queues (each bounded:
the broker refuses what goes beyond) and the monitor serves every account in
turn. Workers send no Celery events, so Celery's `celeryev` exchange plays no part.
"""

from kombu import Exchange, Queue

CREATE_EXCHANGE = Exchange("create", type="direct", durable=True)
WRITE_EXCHANGE = Exchange("write", type="direct", durable=True)
REPORTS_EXCHANGE = Exchange("reports", type="direct", durable=True)  # before per-account queues; drained
CANCEL_EXCHANGE = Exchange("cancel", type="fanout", durable=True)
CANCEL_EXCHANGE_AS_WORKER = Exchange("cancel", type="fanout", durable=True, passive=True)  # workers declare nothing
EVENTS_EXCHANGE = Exchange("celeryev", type="topic", durable=True)  # Celery's own
BEAT_QUEUE = Queue("beat", Exchange("beat", type="direct", durable=True), routing_key="beat", durable=True)
REPORT_KEY = "report"
CLAIM_KEY = "claim"
ACCOUNT_PREFIX = "from."
# One account's queues hold at most this much; beyond, the broker refuses the publish (the sender waits).
ACCOUNT_REPORTS_LIMIT = 20000
ACCOUNT_CLAIMS_LIMIT = 1000
CLAIM_REQUEST_TTL_MS = 30000  # a request nobody answered by then is dropped: its sender has asked again

CREATE_TASK = "cardshop.create"
WRITE_TASK = "cardshop.write"


CREATE_QUEUE_NAME = "create"


def create_queue(no_declare=False):
    return Queue(CREATE_QUEUE_NAME, CREATE_EXCHANGE, routing_key="create", durable=True, no_declare=no_declare)


def write_queue_name(writer_username):
    return f"write.{writer_username}"


def write_queue(writer_username, no_declare=False):
    name = write_queue_name(writer_username)
    return Queue(name, WRITE_EXCHANGE, routing_key=name, durable=True, no_declare=no_declare)


def reports_queue(no_declare=False):
    return Queue("reports", REPORTS_EXCHANGE, routing_key=REPORT_KEY, durable=True, no_declare=no_declare)


def reports_queue_name(username):
    """The queue of one worker account's reports (the monitor consumes it)."""
    return f"reports.{username}"


def account_exchange(username):
    """The one exchange worker account `username` may publish to."""
    return Exchange(f"{ACCOUNT_PREFIX}{username}", type="direct", durable=True, passive=True)


def account_queues(username):
    """The account's report and claim queues, bound to its exchange."""
    exchange = Exchange(f"{ACCOUNT_PREFIX}{username}", type="direct", durable=True)
    bounded = {"x-overflow": "reject-publish"}
    return (Queue(reports_queue_name(username), exchange, routing_key=REPORT_KEY, durable=True,
                  queue_arguments={**bounded, "x-max-length": ACCOUNT_REPORTS_LIMIT}),
            Queue(f"claims.{username}", exchange, routing_key=CLAIM_KEY, durable=True,
                  queue_arguments={**bounded, "x-max-length": ACCOUNT_CLAIMS_LIMIT,
                                   "x-message-ttl": CLAIM_REQUEST_TTL_MS}))


def declare_account(connection, username):
    """Declare the account's exchange and queues (the system user's job; idempotent)."""
    channel = connection.default_channel
    for queue in account_queues(username):
        queue(channel).declare()


def declare_all(connection):
    """Declare the fixed exchanges and queues (the system user's job; idempotent)."""
    channel = connection.default_channel
    for queue in (create_queue(), reports_queue()):
        queue(channel).declare()
    WRITE_EXCHANGE(channel).declare()
    CANCEL_EXCHANGE(channel).declare()


def declare_write_queue(connection, writer_username):
    write_queue(writer_username)(connection.default_channel).declare()
