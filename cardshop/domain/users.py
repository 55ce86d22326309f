"""Users and login, for the API, the broker's auth backend and the scheduler's bootstrap.

Errors are plain (UserTaken); the API turns them into HTTP answers.
"""

import logging

import pymongo.errors

from cardshop.store import new_id, now

log = logging.getLogger(__name__)

PUBLIC_FIELDS = {"username": 1, "email": 1, "role": 1, "active": 1, "created_at": 1, "updated_at": 1}


class UserTaken(Exception):
    """The username or the email belongs to another user already."""


def create_user(db, hasher, username, email, password, role, active=True):
    """Insert a user and return its public fields; UserTaken when the username or email is taken."""
    moment = now()
    doc = {"_id": new_id(), "username": username, "email": email.lower(), "role": role,
           "active": active, "password_hash": hasher.hash(password),
           "created_at": moment, "updated_at": moment}
    try:
        db.users.insert_one(doc)
    except pymongo.errors.DuplicateKeyError:
        if db.users.find_one({"username": username}, {"_id": 1}):
            raise UserTaken(f"username {username!r} is taken") from None
        raise UserTaken(f"email {email!r} is used by another user") from None
    return {key: doc[key] for key in ("_id", *PUBLIC_FIELDS)}


def check_credentials(services, username, password, address=None):
    """The active user these credentials belong to, or None.

    `services` has the scheduler's `db`, `hasher`, `throttle`, `login_rate` and
    `broker_wait`. From a client `address`, the check is rate-limited per address
    and throttled per (username, address): raises RateLimited or Throttled.
    Without one (the broker, already authenticated as itself), neither applies.
    Raises Busy when no password-checking slot frees up in time.
    """
    if address is not None:
        services.login_rate.take(address)
        services.throttle.check(username, address)
    user = services.db.users.find_one({"username": username})
    if not services.hasher.verify(password, user.get("password_hash") if user else None,
                                  wait=None if address is not None else services.broker_wait):
        if address is not None:
            services.throttle.failed(username, address)
        log.info("failed login for %r from %s", username, address or "the broker")
        return None
    if address is not None:
        services.throttle.succeeded(username, address)
    return user if user.get("active") else None
