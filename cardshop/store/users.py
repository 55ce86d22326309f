"""The `users` collection: usernames and emails are unique (indexes), and a clash says which."""

from cardshop.store.commits import unique

PUBLIC_FIELDS = {"username": 1, "email": 1, "role": 1, "active": 1, "notify": 1, "created_at": 1, "updated_at": 1}


class UserTaken(Exception):
    """The username or the email belongs to another user already."""


def find(db, username, projection=None):
    return db.users.find_one({"username": username}, projection)


def insert(db, doc):
    """Insert a new user; UserTaken naming the username or the email that is taken."""
    def taken():
        if find(db, doc["username"], {"_id": 1}):
            return UserTaken(f"username {doc['username']!r} is taken")
        return UserTaken(f"email {doc['email']!r} is used by another user")
    with unique(taken):
        db.users.insert_one(doc)


def update(db, username, changes):
    """Set `changes` on the user; UserTaken when the new email is another user's."""
    with unique(lambda: UserTaken(f"email {changes.get('email')!r} is used by another user")):
        db.users.update_one({"username": username}, {"$set": changes})


def set_password_hash(db, user_id, password_hash, moment):
    db.users.update_one({"_id": user_id}, {"$set": {"password_hash": password_hash, "updated_at": moment}})


def worker_usernames(db):
    """The usernames of the active workers (creators and writer hosts)."""
    return [user["username"] for user in active_workers(db)]


def active_workers(db):
    """{"username", "role"} of each active worker account (creators and writer hosts)."""
    return list(db.users.find({"role": {"$in": ["creator", "writer"]}, "active": True},
                              {"_id": 0, "username": 1, "role": 1}))


def count_with_role(db, role, active=None):
    """How many users have `role` (and, unless None, that `active` flag)."""
    return db.users.count_documents({"role": role, **({} if active is None else {"active": active})})


def delete(db, username):
    db.users.delete_one({"username": username})


def revise_revoked_sessions(db, user_id, revoked, forgotten):
    """Remember the sessions in `revoked` (session -> until when) on the user, and forget those in `forgotten`."""
    changes = {"$set": {f"revoked_sessions.{sid}": until for sid, until in revoked.items()}}
    if forgotten:
        changes["$unset"] = {f"revoked_sessions.{sid}": "" for sid in forgotten}
    db.users.update_one({"_id": user_id}, changes)


def subscribers(db, kind, roles):
    """{"username", "email"} of the active users of `roles` subscribed to notifications of `kind`."""
    return list(db.users.find(subscribers_filter(kind, roles), {"_id": 0, "username": 1, "email": 1}))


def subscribers_filter(kind, roles):
    return {"notify": kind, "active": True, "role": {"$in": sorted(roles)}}
