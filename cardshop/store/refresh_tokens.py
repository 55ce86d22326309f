"""The `refresh_tokens` collection: one document per refresh token, by its SHA-256 (never the token), in the
session (`family`) it belongs to. Ids are digests of random tokens: they never clash."""


def insert(db, doc):
    db.refresh_tokens.insert_one(doc)


def find(db, digest):
    return db.refresh_tokens.find_one({"_id": digest})


def mark_used(db, digest, moment):
    db.refresh_tokens.update_one({"_id": digest}, {"$set": {"used_at": moment}})


def sessions_of(db, username):
    """The sessions (`family`) the user's refresh tokens belong to."""
    return db.refresh_tokens.distinct("family", {"username": username})


def use_up_sessions(db, sessions, moment):
    """Mark every unused refresh token of `sessions` used (at `moment`), so that none is exchanged again."""
    db.refresh_tokens.update_many({"family": {"$in": list(sessions)}, "used_at": None}, {"$set": {"used_at": moment}})


def delete_of_user(db, username):
    db.refresh_tokens.delete_many({"username": username})


def delete_expired(db, moment):
    """Delete the tokens expired before `moment`; how many."""
    return db.refresh_tokens.delete_many(expired_filter(moment)).deleted_count


def expired_filter(moment):
    return {"expires_at": {"$lt": moment}}
