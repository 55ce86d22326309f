"""Recipe pages: the kept recipes (list, create, edit, duplicate, import and export as YAML or JSON, delete)."""

import json

import bottle

from cardshop.manager import forms
from cardshop.manager.orders import download
from cardshop.manager.web import posted

OPERATORS = ("admin", "manager")
ID = "<recipe_id:re:[0-9a-f]{24}>"


def install(app, web):
    @app.get("/recipes")
    @web.page(OPERATORS)
    def recipes(session):
        body = web.api_body(session, session.get("/recipes?per_page=200"), "list recipes")
        return web.render("recipes.tpl", session, recipes=body["items"], total=body["total"],
                          estimate=forms.estimate, suggest=forms.suggest_card)

    @app.post("/recipes/estimate.json")
    @web.page(OPERATORS)
    def live_estimate(session):
        _, reply, _ = posted(forms.estimate_json)  # estimate_json says what is wrong rather than raise
        bottle.response.content_type = "application/json"
        return json.dumps(reply)

    @app.get("/recipes/new")
    @web.page(OPERATORS)
    def new_recipe(session):
        return _form(web, session, {"recipe_source": "compose", "output_size": "auto"}, {}, None)

    @app.post("/recipes/new")
    @web.page(OPERATORS)
    def create_recipe(session):
        return _save(web, session, None)

    @app.get(f"/recipes/{ID}")
    @web.page(OPERATORS)
    def edit_recipe(session, recipe_id):
        kept = web.api_body(session, session.get(f"/recipes/{recipe_id}"), "read the recipe")
        values = {"name": kept["name"], "description": kept.get("description", ""), **forms.recipe_values(kept["recipe"])}
        return _form(web, session, values, {}, recipe_id)

    @app.post(f"/recipes/{ID}")
    @web.page(OPERATORS)
    def update_recipe(session, recipe_id):
        return _save(web, session, recipe_id)

    @app.post(f"/recipes/{ID}/duplicate")
    @web.page(OPERATORS)
    def duplicate(session, recipe_id):
        kept = web.api_body(session, session.get(f"/recipes/{recipe_id}"), "read the recipe")
        copy = {"name": f"Copy of {kept['name']}"[:200], "description": kept.get("description", ""),
                "recipe": kept["recipe"]}
        created = web.api_body(session, session.post("/recipes", copy), "copy the recipe")
        bottle.redirect(f"/recipes/{created['_id']}", 303)

    @app.post(f"/recipes/{ID}/delete")
    @web.page(OPERATORS)
    def delete(session, recipe_id):
        web.then(session, session.call("DELETE", f"/recipes/{recipe_id}"), "delete the recipe", "/recipes")

    @app.get(f"/recipes/{ID}.<fmt:re:yaml|json>")
    @web.page(OPERATORS)
    def export(session, recipe_id, fmt):
        kept = web.api_body(session, session.get(f"/recipes/{recipe_id}"), "read the recipe")
        return download(kept["recipe"], fmt, f"recipe-{recipe_id}")


def _save(web, session, recipe_id):
    values, recipe, errors = posted(forms.recipe_of)
    if errors or values.get("action") == "estimate":
        return _form(web, session, values, errors, recipe_id, recipe)
    body = {"name": values.get("name", "").strip(), "description": values.get("description", "").strip(),
            "recipe": recipe}
    reply = session.patch(f"/recipes/{recipe_id}", body) if recipe_id else session.post("/recipes", body)
    if not reply.ok:
        bottle.response.status = reply.status if reply.status < 500 else 502
        errors = forms.place_error(reply.error, "form", ("name", "description"))
        return _form(web, session, values, errors, recipe_id, recipe)
    bottle.redirect(f"/recipes?done={reply.body['_id']}", 303)


def _form(web, session, values, errors, recipe_id, recipe=None):
    return web.render("recipe_form.tpl", session, values=values, errors=errors, recipe_id=recipe_id,
                      **forms.estimate_view(values, recipe))
