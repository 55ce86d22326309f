"""Recipes: operators keep, read, change and forget named recipes; the recipe rules apply; others are refused."""

import pytest

from cardshop.client import ApiClient

RECIPE = {"output": {"size": "1G"}, "files": [{"to": "/data/a.txt", "content": "a"}]}


@pytest.fixture
def manager(make_user, scheduler):
    return ApiClient(scheduler.url, make_user("manager").access)


def test_a_recipe_is_kept_listed_changed_and_forgotten(manager):
    created = manager.post("/recipes", {"name": "<b>Wikipedia</b> FR", "recipe": RECIPE})
    assert created.status == 201, created
    recipe_id = created.body["_id"]
    assert created.body["name"] == "<b>Wikipedia</b> FR" and created.body["description"] == ""
    assert recipe_id in [item["_id"] for item in manager.get("/recipes?per_page=200").body["items"]]
    changed = manager.patch(f"/recipes/{recipe_id}", {"recipe": {**RECIPE, "output": {"size": "auto"}},
                                                      "description": "nightly"})
    assert changed.status == 200 and changed.body["recipe"]["output"]["size"] == "auto"
    assert manager.get(f"/recipes/{recipe_id}").body["description"] == "nightly"
    assert manager.delete(f"/recipes/{recipe_id}").status == 204
    assert manager.get(f"/recipes/{recipe_id}").status == 404


@pytest.mark.parametrize("recipe, message", [
    ({"output": {"size": "1G"}, "files": [{"to": "/etc/shadow", "content": "x"}]}, "under /data"),
    ({"output": {"size": "12Q"}}, "recipe.output.size"),
    ({"output": {"size": "1G"}, "files": [{"to": "/data/a"}]}, "exactly one of"),
])
def test_a_recipe_that_cannot_be_built_is_refused_naming_the_field(manager, recipe, message):
    reply = manager.post("/recipes", {"name": "bad", "recipe": recipe})
    assert reply.status == 400 and message in reply.error
    kept = manager.post("/recipes", {"name": "good", "recipe": RECIPE}).body
    reply = manager.patch(f"/recipes/{kept['_id']}", {"recipe": recipe})
    assert reply.status == 400 and message in reply.error


def test_workers_cannot_read_recipes(make_user, scheduler):
    writer = ApiClient(scheduler.url, make_user("writer").access)
    assert writer.get("/recipes").status == 403
    assert writer.post("/recipes", {"name": "x", "recipe": RECIPE}).status == 403
