"""The `auto_images` collection: each stable auto-image name (the `_id`) points at its latest build."""

from cardshop.store.commits import swap


def find(db, name):
    return db.auto_images.find_one({"_id": name})


def point(db, name, fields):
    """Point `name` at a new build (`fields`); the entry it replaced, handed to exactly one caller (None: new)."""
    return swap(db.auto_images, name, fields)
