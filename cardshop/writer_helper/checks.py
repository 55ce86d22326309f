"""`check`: can this host work? Each dependency tried with the host's own credentials, loaded as writer@N loads them.

    scheduler   API login as the host's writer user (writer.yaml's scheduler, its proxy and CA file)
    broker      AMQP(S) login as that user, and its own write queue there (a passive declare: nothing created)
    warehouse   FTP(S) login as that user with the scheduler's token (writer.yaml's warehouse.url, or --warehouse)

Each result is {"name", "ok", "target", "reason"}; the reason is for people. `network` runs the same checks over
the host's new address before it is kept.
"""

import amqp.exceptions
import kombu.exceptions

from cardshop.config import read_secret
from cardshop.pipeline.celery_app import make_celery, worker_queue_for
from cardshop.client.warehouse import WarehouseClient, WarehouseError
from cardshop.writer_helper import login as scheduler

CONNECT_TIMEOUT = 10  # seconds a check waits for an answer: a host that does not answer fails its check


def _result(name, ok, target, reason):
    return {"name": name, "ok": ok, "target": target, "reason": reason}


def check_scheduler(config, secret):
    """(result, the Login of the host's writer user or None); revoke the Login when done."""
    api_url, username = config["scheduler"]["api_url"], config["broker"]["username"]
    try:
        login, role = scheduler.log_in(api_url, username, secret)
    except scheduler.LoginError as exc:
        return _result("scheduler", False, api_url, str(exc)), None
    if role != "writer":
        login.revoke()
        return _result("scheduler", False, api_url, f"{username} logged in, but is a {role}, not a writer"), None
    return _result("scheduler", True, api_url, f"logged in as {username} (role writer)"), login


def check_broker(config):
    broker = config["broker"]
    username = broker["username"]
    queue = worker_queue_for("write", username)
    try:
        app = make_celery(broker, "cardshop-writer-helper-check")
        with app.connection_for_write() as connection:
            connection.connect_timeout = CONNECT_TIMEOUT
            connection.connect()
            try:
                _, messages, consumers = queue.bind(connection.default_channel).queue_declare(passive=True)
            except amqp.exceptions.NotFound:
                return _absent_queue(connection, broker, username, queue.name)
    except amqp.exceptions.AccessRefused as exc:
        return _result("broker", False, broker["url"], f"the broker refused the login of {username}: "
                       f"{exc.reply_text or exc}")
    except (OSError, kombu.exceptions.OperationalError, amqp.exceptions.AMQPError) as exc:
        return _result("broker", False, broker["url"], f"cannot reach the broker: {_why(exc)}")
    return _result("broker", True, broker["url"], f"logged in as {username}; queue {queue.name} holds {messages} "
                   f"task{'s' * (messages != 1)}, {consumers} slot{'s' * (consumers != 1)} consume it")


def _absent_queue(connection, broker, username, name):
    """The queue is not there yet (the first task for this host declares it): a consume tells whether the user
    may read it once it is, since the broker refuses a forbidden queue (403) before it looks for it (404). A
    passive declare tells nothing of rights. Nothing can be delivered to a queue that does not exist; were it
    declared in between, an unacknowledged delivery goes back to the queue when the channel closes."""
    channel = connection.channel()
    try:
        channel.basic_consume(name)
    except amqp.exceptions.NotFound:
        return _result("broker", True, broker["url"], f"logged in as {username}; its queue {name} is not there "
                       "yet (the first task for this host makes it)")
    except amqp.exceptions.AccessRefused as exc:
        return _result("broker", False, broker["url"], f"logged in as {username}, but may not read the queue "
                       f"{name}: {exc.reply_text}")
    finally:
        channel.close()
    return _result("broker", True, broker["url"], f"logged in as {username}; queue {name} consumed")


def check_warehouse(config, url, token):
    username = config["broker"]["username"]
    if not url:
        return _result("warehouse", False, None, "no address to try: set warehouse.url in writer.yaml (the "
                       "warehouse's download URL) or pass --warehouse URL")
    if token is None:
        return _result("warehouse", False, url, "not tried: it takes a token of the scheduler, whose login failed")
    try:
        with WarehouseClient(url, username, token, config["warehouse"].get("ca_file"), timeout=CONNECT_TIMEOUT):
            pass
    except WarehouseError as exc:
        cause = exc.__cause__
        return _result("warehouse", False, url, f"{exc}" if cause is None or str(cause) in str(exc)
                       else f"{exc}: {_why(cause)}")
    return _result("warehouse", True, url, f"logged in as {username}")


def _why(exc):
    """What an exception says, or its kind when it says nothing."""
    return str(exc) or type(exc).__name__


def run(config, warehouse_url=None):
    """Every check, in order; `warehouse_url` replaces writer.yaml's warehouse.url. ConfigError when the
    host's password file cannot be read (writer@N would not start either)."""
    secret = read_secret(config["broker"]["password_file"], "broker.password_file")
    scheduler_result, login = check_scheduler(config, secret)
    try:
        broker_result = check_broker(config)
        warehouse_result = check_warehouse(config, warehouse_url or config["warehouse"].get("url"),
                                           login.pair["access_token"] if login else None)
    finally:
        if login:
            login.revoke()
    return [scheduler_result, broker_result, warehouse_result]


def lines(results):
    """For people: ✔ or ✘, the name and the reason, one line each."""
    return [f"{'✔' if result['ok'] else '✘'} {result['name']}: {result['reason']}"
            + (f" ({result['target']})" if result["target"] and result["target"] not in result["reason"] else "")
            for result in results]

