"""Assemble the scheduler's WSGI application from the resource modules."""

from cardshop.api.access import make_authenticator
from cardshop.api.openapi import build_document
from cardshop.api.routes import (auth, auto_images, logs, meta, orders, rabbitmq, recipes, schedules, stats,
                                  tasks, users, warehouses, writer_hosts)
from cardshop.api.routing import Api
from cardshop.auth.checkqueue import CheckQueue
from cardshop.auth.passwords import Hasher
from cardshop.auth.ratelimit import RateLimit
from cardshop.auth.throttle import LoginThrottle
from cardshop.auth.tokens import Tokens
from cardshop.auth.usercache import UserCache
from cardshop.auth.verified import VerifiedLogins
from cardshop.config.rules import trusted_proxies
from cardshop.proxies import TrustedProxies

ROUTE_MODULES = (meta, auth, users, orders, recipes, stats, tasks, logs, warehouses, schedules, auto_images, rabbitmq,
                 writer_hosts)


class Services:
    """What handlers work with; built once per process."""

    def __init__(self, db, tokens, users, hasher, throttle, vhost, routes, publisher=None,
                 login_rate=None, broker_addresses=("127.0.0.1", "::1"), verified=None, max_hosts_per_writer=4,
                 proxies=None):
        self.db = db
        self.publisher = publisher
        self.users = users
        self.tokens = tokens
        self.hasher = hasher
        self.throttle = throttle
        self.login_rate = login_rate or RateLimit(5, 20)
        self.broker_addresses = frozenset(broker_addresses)
        self.verified = verified or VerifiedLogins(300)
        self.proxies = proxies or TrustedProxies()  # who may name the client that login limits count against
        self.vhost = vhost
        self.max_hosts_per_writer = max_hosts_per_writer  # hosts one writer account may have slots registered on
        self.authenticate = make_authenticator(users, tokens)
        self.openapi = build_document(routes)


def all_routes(max_body_bytes):
    api = Api(max_body_bytes=max_body_bytes)
    for module in ROUTE_MODULES:
        api.include(module.api)
    return api


def build_publisher(db, config):
    """Publishes tasks when a broker is configured; else the beat publishes them later."""
    if "broker" not in config:
        return None
    from cardshop.pipeline.celery_app import make_celery
    from cardshop.pipeline.publish import Publisher
    return Publisher(make_celery(config["broker"], "cardshop-scheduler"), db)


def queue_size(config):
    """auth.check_queue_size, but leaving a server thread for everything else: each running check
    (a slot for clean clients, one for failing ones) and each waiting check holds one."""
    slots = config["auth"]["password_check_slots"]
    return max(1, min(config["auth"]["check_queue_size"], config["api"]["threads"] - 2 * slots - 1))


def build_services(db, config, jwt_key):
    auth = config["auth"]
    api = all_routes(config["api"]["max_body_bytes"])
    users = UserCache(db, auth["user_cache_seconds"])
    services = Services(
        db=db,
        tokens=Tokens(db, jwt_key, auth["access_ttl"], auth["refresh_ttl"], users),
        users=users,
        hasher=Hasher(auth["bcrypt_rounds"], CheckQueue(
            auth["password_check_slots"], queue_size(config), auth["check_queue_per_client"],
            auth["check_queue_per_account"], auth["check_queue_wait"], auth["failure_window"])),
        verified=VerifiedLogins(auth["verified_ttl"]),
        throttle=LoginThrottle(db, auth["max_failures"], auth["failure_window"],
                               auth["lockout"], auth["max_lockout"]),
        vhost=config["rabbitmq"]["vhost"],
        routes=api.routes,
        publisher=build_publisher(db, config),
        login_rate=RateLimit(auth["login_rate"], auth["login_burst"]),
        broker_addresses=config["rabbitmq"]["broker_addresses"],
        max_hosts_per_writer=config["writers"]["max_hosts_per_account"],
        proxies=trusted_proxies(config, "api"),
    )
    return api, services


def build_app(db, config, jwt_key):
    """The WSGI app and its services."""
    api, services = build_services(db, config, jwt_key)
    return api.app(services, services.authenticate), services
