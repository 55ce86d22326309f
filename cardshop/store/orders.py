"""The `orders` collection and the tasks that belong to an order. Statuses change only through
store/transitions.py; new orders are recorded by store/documents.py (with their create task)."""


def find(db, order_id, projection=None):
    return db.orders.find_one({"_id": order_id}, projection)


def tasks_of(db, order_id, projection=None):
    """The order's tasks, oldest first."""
    return list(db.tasks.find({"order": order_id}, projection).sort([("created_at", 1), ("_id", 1)]))


def live_in_warehouse(db, name, ended):
    """How many orders not in an `ended` status keep their images in warehouse `name`."""
    return db.orders.count_documents({"warehouse": name, "status": {"$nin": sorted(ended)}})


def delete_ended(db, order_id, status):
    """Delete the order (still in `status`, an ended one) and its tasks."""
    db.tasks.delete_many({"order": order_id})
    db.orders.delete_one({"_id": order_id, "status": status})
