"""What RabbitMQ lets each user do (answers for rabbitmq_auth_backend_http).

- Only active users with the broker roles log in: creators and writers (the
  workers), and admin/system (who get the management tag).
- Only the one virtual host.
- A creator reads the `create` queue; a writer host reads `write.<its
  username>` and `write.<its username>.<anything>`. Workers declare nothing
  of ours: the system user declares queues and exchanges.
- Workers publish to the pipeline's exchanges: `reports` (step changes,
  progress, logs) and `celeryev` (Celery worker events: online, heartbeat),
  the latter only with `worker.*`/`task.*` routing keys. Celery's event
  dispatcher declares `celeryev` itself, so workers may configure that one
  exchange: the worst a worker can do with it is hide heartbeats until the
  monitor declares it again.
- Workers hear cancels on a queue of their own: they may declare and use
  exclusive, server-named queues (`amq.gen-*`, private to the connection
  that declared them) and bind them to the `cancel` exchange (read).
- admin and system may do anything in the virtual host.
"""

from cardshop.auth import roles

EVENTS_EXCHANGE = "celeryev"
CANCEL_EXCHANGE = "cancel"
PRIVATE_QUEUE_PREFIX = "amq.gen-"
REPORT_EXCHANGES = ("reports", EVENTS_EXCHANGE)
ADMIN_TAGS = "administrator management"


def user_tags(role):
    """The tags for a user who gave the right password, or None to deny."""
    if role in roles.BROKER_ADMINS:
        return ADMIN_TAGS
    if role in roles.WORKERS:
        return ""
    return None


def _own_queue(role, username, name):
    if role == roles.CREATOR:
        return name == "create"
    if role == roles.WRITER:
        mine = f"write.{username}"
        return name == mine or name.startswith(mine + ".")
    return False


def resource_allowed(role, username, resource, name, permission):
    if role in roles.BROKER_ADMINS:
        return True
    if role not in roles.WORKERS:
        return False
    if resource == "queue":
        if name.startswith(PRIVATE_QUEUE_PREFIX):
            return True
        return permission == "read" and _own_queue(role, username, name)
    if resource == "exchange":
        if name == CANCEL_EXCHANGE:
            return permission == "read"
        if name == EVENTS_EXCHANGE:
            return permission in ("write", "configure")
        return permission == "write" and name in REPORT_EXCHANGES
    return False


def topic_allowed(role, name, permission, routing_key):
    """Topic exchanges: workers only publish, and only worker/task events on celeryev."""
    if role in roles.BROKER_ADMINS:
        return True
    if role not in roles.WORKERS or permission != "write" or name not in REPORT_EXCHANGES:
        return False
    if name == "celeryev":
        return routing_key.startswith(("worker.", "task."))
    return True
