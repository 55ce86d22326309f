"""The `warehouses` collection: names are unique (index); one is the default."""

from cardshop.store.commits import unique


class WarehouseExists(Exception):
    """A warehouse of that name exists already."""


def find(db, name, projection=None):
    return db.warehouses.find_one({"name": name}, projection)


def find_default(db, projection=None):
    return db.warehouses.find_one({"default": True}, projection)


def is_empty(db):
    return db.warehouses.count_documents({}) == 0


def insert(db, doc):
    with unique(lambda: WarehouseExists(f"warehouse {doc['name']!r} exists")):
        db.warehouses.insert_one(doc)


def update(db, name, changes):
    db.warehouses.update_one({"name": name}, {"$set": changes})


def make_default(db, name):
    """Leave `name` (already marked) the only default. Not atomic across documents (no transactions on
    FerretDB); the one marked last wins and reads after it reflect it."""
    db.warehouses.update_many({"default": True, "name": {"$ne": name}}, {"$set": {"default": False}})


def delete(db, name):
    db.warehouses.delete_one({"name": name})
