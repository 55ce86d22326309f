"""Users and login, for the API, the broker's auth backend and the scheduler's bootstrap.

Errors are plain (UserTaken, from the store); the API turns them into HTTP answers.
"""

import logging

from cardshop.store import new_id, now, users
from cardshop.store.users import PUBLIC_FIELDS, UserTaken

log = logging.getLogger(__name__)

__all__ = ["PUBLIC_FIELDS", "UserTaken", "check_credentials", "create_user"]


def create_user(db, hasher, username, email, password, role, active=True):
    """Insert a user and return its public fields; UserTaken when the username or email is taken."""
    moment = now()
    doc = {"_id": new_id(), "username": username, "email": email.lower(), "role": role,
           "active": active, "password_hash": hasher.hash(password),
           "created_at": moment, "updated_at": moment}
    users.insert(db, doc)
    return {key: doc[key] for key in ("_id", *PUBLIC_FIELDS)}


def check_credentials(services, username, password, address=None):
    """The active user these credentials belong to, or None.

    `services` has the scheduler's `db`, `hasher`, `verified`, `throttle` and
    `login_rate`. From a client `address`, the check is rate-limited per address
    and throttled per (username, address): raises RateLimited or Throttled.
    Without one (the broker, already authenticated as itself, which sends no
    client address with a login), neither applies, so nobody's guesses lock a
    service account out; the account is then the broker login's own lane in the
    check queue. Credentials verified a moment ago skip bcrypt (verified.py).
    Raises Busy (or TooManyWaiting) when the check gets no turn in time.
    """
    if address is not None:
        services.login_rate.take(address)
        services.throttle.check(username, address)
    lane = address if address is not None else f"broker {username}"
    remembered = services.verified.maybe(username, password)
    if not remembered:  # a flood the check queue would turn away costs no database read
        services.hasher.queue.admit(lane, username)
    user = users.find(services.db, username)
    stored = user.get("password_hash") if user else None
    right = remembered and services.verified.known(username, password, stored)
    if not right:
        right = services.hasher.verify(password, stored, lane, username)
        if right:
            services.verified.remember(username, password, stored)
    if not right:
        if address is not None:
            services.throttle.failed(username, address)
        log.info("failed login for %r from %s", username, address or "the broker")
        return None
    if address is not None:
        services.throttle.succeeded(username, address)
    return user if user.get("active") else None
