"""The `recipes` collection: recipes operators keep under a name (names need not be unique; ids are fresh)."""


def find(db, recipe_id):
    return db.recipes.find_one({"_id": recipe_id})


def insert(db, doc):
    db.recipes.insert_one(doc)


def update(db, recipe_id, changes):
    db.recipes.update_one({"_id": recipe_id}, {"$set": changes})


def delete(db, recipe_id):
    db.recipes.delete_one({"_id": recipe_id})
