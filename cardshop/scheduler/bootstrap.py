"""Users the scheduler keeps in step with its configuration at start."""

import logging

from cardshop.api.routes.users import create_user
from cardshop.auth import roles
from cardshop.store import now

log = logging.getLogger(__name__)


def ensure_system_user(db, hasher, username, password):
    """Create the system user, or reset its password and role to the configured ones."""
    user = db.users.find_one({"username": username})
    if user is None:
        create_user(db, hasher, username, f"{username}@localhost", password, roles.SYSTEM)
        log.info("created system user %s", username)
    elif (user["role"] != roles.SYSTEM or not user.get("active")
          or not hasher.verify(password, user["password_hash"])):
        db.users.update_one({"_id": user["_id"]}, {"$set": {
            "role": roles.SYSTEM, "active": True, "password_hash": hasher.hash(password),
            "updated_at": now()}})
        log.info("reset system user %s to its configured password", username)


def ensure_first_admin(db, hasher, username, email, password):
    """Create an admin unless one exists already."""
    if db.users.count_documents({"role": roles.ADMIN}) > 0:
        return False
    create_user(db, hasher, username, email, password, roles.ADMIN)
    log.info("created first admin %s", username)
    return True
