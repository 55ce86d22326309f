"""RabbitMQ's HTTP auth backend: form in, `allow [tags]` or `deny` out, always HTTP 200.

Any doubt (unknown user, wrong password, malformed request, database error)
is answered `deny`. Only the broker may ask: a caller from any address but
the configured broker addresses gets 403 before anything is looked up, so
these routes are no user-enumeration or password oracle for others. The
broker's logins are neither rate-limited nor throttled (its address is
shared by every worker, and a guesser must not lock service accounts out).
RabbitMQ sends no client address with a login (the peer `ip` comes only
with the vhost question, after the password was accepted), so each account
is a client of its own in the password-check queue: a flood of wrong
passwords for one account waits in that account's lane and is denied beyond
its bound, while other accounts' logins, and the API's, keep their turns.
"""

import logging

from cardshop.api.routing import Api, ApiError
from cardshop.auth import broker
from cardshop.auth.passwords import Busy
from cardshop.auth.throttle import Throttled
from cardshop.domain.users import check_credentials
from cardshop.store import users

log = logging.getLogger(__name__)
api = Api()

ALLOW, DENY = "allow", "deny"
_ANSWER = {"type": "string", "description": "allow, allow <tags>, or deny"}
_FORM = {"type": "object", "properties": {name: {"type": "string"} for name in (
    "username", "password", "vhost", "ip", "resource", "name", "permission", "routing_key")}}


def _answer(decide):
    def handler(call):
        # The client a trusted proxy names, else the peer: a question relayed by the TLS front comes
        # from 127.0.0.1 but on behalf of whoever reached the front, never from the broker.
        address = call.client
        if address not in call.services.broker_addresses:
            log.warning("refused a broker auth question from %s: not a broker address", address)
            raise ApiError(403, "only the message broker may use this route")
        try:
            return decide(call.services, call.body)
        except (Throttled, Busy) as exc:
            log.info("broker login refused: %s", exc)
            return DENY
        except Exception:  # never an error page: RabbitMQ must get a clear deny
            log.exception("broker auth check failed; answering deny")
            return DENY
    handler.__name__ = decide.__name__
    handler.__doc__ = decide.__doc__
    return handler


def _broker_user(services, username):
    """The active broker-role user, or None."""
    user = users.find(services.db, username, {"role": 1, "active": 1})
    if user is None or not user.get("active") or broker.user_tags(user["role"]) is None:
        return None
    return user


def _route(path, summary):
    return api.route("POST", path, summary=summary, form=_FORM, text=True,
                     response=_ANSWER, tag="rabbitmq", errors=[403])


@_route("/auth/rabbitmq/user", "RabbitMQ: may this user log in with this password?")
@_answer
def user(services, form):
    username, password = form.get("username", ""), form.get("password")
    if not username or password is None:
        return DENY
    found = check_credentials(services, username, password)
    tags = broker.user_tags(found["role"]) if found else None
    if tags is None:
        return DENY
    return f"{ALLOW} {tags}".strip()


@_route("/auth/rabbitmq/vhost", "RabbitMQ: may this user use this virtual host?")
@_answer
def vhost(services, form):
    if form.get("vhost") != services.vhost or not _broker_user(services, form.get("username", "")):
        return DENY
    return ALLOW


def _permitted(services, form, rule):
    """ALLOW when the vhost is ours, the user may use the broker and `rule(role)` holds."""
    if form.get("vhost") != services.vhost:
        return DENY
    found = _broker_user(services, form.get("username", ""))
    return ALLOW if found and rule(found["role"]) else DENY


@_route("/auth/rabbitmq/resource", "RabbitMQ: may this user configure, write or read this queue or exchange?")
@_answer
def resource(services, form):
    return _permitted(services, form, lambda role: broker.resource_allowed(
        role, form["username"], form.get("resource"), form.get("name", ""), form.get("permission")))


@_route("/auth/rabbitmq/topic", "RabbitMQ: may this user publish or bind with this routing key?")
@_answer
def topic(services, form):
    return _permitted(services, form, lambda role: broker.topic_allowed(
        role, form.get("name", ""), form.get("permission"), form.get("routing_key", "")))
