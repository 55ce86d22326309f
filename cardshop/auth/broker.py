"""What RabbitMQ lets each user do (answers for rabbitmq_auth_backend_http).

- Only active users with the broker roles log in: creators and writers (the
  workers), and admin/system (who get the management tag).
- Only the one virtual host.
- A creator reads the `create` queue; a writer host reads `write.<its
  username>` and `write.<its username>.<anything>`.
- Workers never configure an exchange (declare, delete, redeclare): the
  system user declares every exchange and the fixed queues at start.
- Each worker publishes to one exchange, its own `from.<username>` (step
  changes, progress, logs, heartbeats and claims), where RabbitMQ stamps
  each message with the sender's username; no account can fill another's
  queues. Workers send no Celery events and have no right on Celery's
  `celeryev` exchange.
- Workers get the answers to their claims on RabbitMQ's direct reply-to
  pseudo-queue (`amq.rabbitmq.reply-to`, private to the consuming channel).
- Workers hear cancels on a queue of their own: they may declare and use
  exclusive, server-named queues (`amq.gen-*`, private to the connection
  that declared them) and bind them to the `cancel` exchange (read).
- admin and system may do anything in the virtual host.
"""

from cardshop.auth import roles

CANCEL_EXCHANGE = "cancel"
ACCOUNT_EXCHANGE_PREFIX = "from."  # + the worker's username (pipeline/topology.py)
PRIVATE_QUEUE_PREFIX = "amq.gen-"
REPLY_TO = "amq.rabbitmq.reply-to"
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
        if name == REPLY_TO:
            return permission == "read"
        return permission == "read" and _own_queue(role, username, name)
    if resource == "exchange":
        if name == CANCEL_EXCHANGE:
            return permission == "read"
        return permission == "write" and name == ACCOUNT_EXCHANGE_PREFIX + username
    return False


def topic_allowed(role, name, permission, routing_key):
    """Topic exchanges: workers use none (their only publish goes to their own direct `from.<user>`)."""
    return role in roles.BROKER_ADMINS
