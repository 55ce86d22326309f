"""Users the scheduler keeps in step with its configuration at start, and `create-admin`."""

import getpass
import logging
import sys

from cardshop.auth import roles
from cardshop.auth.passwords import Hasher, PasswordError, check_strength
from cardshop.config.rules import database_uri
from cardshop.domain.users import UserTaken, create_user
from cardshop.store import connect, ensure_indexes, now, users

log = logging.getLogger(__name__)


def ensure_system_user(db, hasher, username, password):
    """Create the system user, or reset its password and role to the configured ones."""
    user = users.find(db, username)
    if user is None:
        create_user(db, hasher, username, f"{username}@localhost", password, roles.SYSTEM)
        log.info("created system user %s", username)
    elif (user["role"] != roles.SYSTEM or not user.get("active")
          or not hasher.verify(password, user["password_hash"])):
        users.update(db, username, {"role": roles.SYSTEM, "active": True, "password_hash": hasher.hash(password),
                                    "updated_at": now()})
        log.info("reset system user %s to its configured password", username)


def ensure_first_admin(db, hasher, username, email, password):
    """Create an admin unless one exists already."""
    if users.count_with_role(db, roles.ADMIN) > 0:
        return False
    create_user(db, hasher, username, email, password, roles.ADMIN)
    log.info("created first admin %s", username)
    return True


def create_admin(config, args):
    """`cardshop-scheduler create-admin`: an admin written straight to the database."""
    if args.password_file:
        with open(args.password_file, encoding="utf-8") as handle:
            password = handle.read().strip()
    else:
        password = getpass.getpass(f"password for {args.username}: ")
    try:
        check_strength(password)
    except PasswordError as exc:
        print(f"cardshop-scheduler: {exc}", file=sys.stderr)
        return 2
    db = connect(database_uri(config), config["database"]["name"], config["database"]["timeout"],
                 config["database"]["call_timeout"])
    ensure_indexes(db)
    try:
        create_user(db, Hasher(config["auth"]["bcrypt_rounds"]), args.username, args.email,
                    password, "admin")
    except UserTaken as exc:
        print(f"cardshop-scheduler: {exc}", file=sys.stderr)
        return 1
    print(f"created admin {args.username}")
    return 0
