"""Order pages: the list (status filter, search, pages), the new-order form, the detail with live progress."""

import json
import urllib.parse

import bottle

from cardshop.manager import forms
from cardshop.manager.web import posted
from cardshop.manager.wording import clock, image_text, status_label, when, written_cards
from cardshop.pipeline.progress import progress_line
from cardshop.states import ORDER
from cardshop.states.orders import WORKFLOW
from cardshop.states.tasks import LABELS as TASK_LABELS
from cardshop.validation import short_id

PER_PAGE = 25
SEARCH_LENGTH = 100  # what GET /orders?q= takes
LOG_LINES = 100  # the latest log lines shown of a task
ID = "<order_id:re:[0-9a-f]{24}>"
STATUSES = WORKFLOW


def allowed_actions(order):
    """What the state machine lets an operator do now: cancel, retry (a failed step), ship (cards waiting).

    The order page holds a form for each, those not allowed hidden; its live updates show each as soon as
    the status allows it (a write ending offers Ship without a reload)."""
    status = order["status"]
    actions = []
    if ORDER.allows(status, "cancel"):
        actions.append("cancel")
    if status in ("creation_failed", "write_failed"):  # POST /orders/{id}/retry redoes the failed step
        actions.append("retry")
    if ORDER.allows(status, "ship") and order["sd_card"]["type"] == "physical":
        actions.append("ship")
    if status in ORDER.ended:
        actions.append("delete")
    if has_image(order):
        actions.append("order_more")
    return actions


def has_image(order):
    """Whether the order's image is made and its files still in the warehouse: more cards of it are written
    at once (POST /orders with image_of)."""
    image = order.get("image")
    return isinstance(image, dict) and bool(image.get("folder")) and not order.get("image_deleted_at")


def more_of_image(order_id, form):
    """The API's body for more cards of the order's image, from the order page's small form."""
    try:
        size, quantity = int(form.getunicode("card_size", "")), int(form.getunicode("quantity", ""))
    except ValueError:
        size = quantity = 0  # the API names the field
    return {"image_of": order_id, "sd_card": {"size": size, "type": form.getunicode("card_type", "physical")},
            "quantity": quantity,
            "recipient": {key: form.getunicode(f"recipient_{key}", "").strip() for key in ("name", "email", "address")}}


def _with_reason(web, session, order_id, action, what, done):
    """POST /orders/{id}/<action> with the form's optional reason, then back to the order page."""
    reason = bottle.request.forms.getunicode("reason", "").strip()
    reply = session.post(f"/orders/{order_id}/{action}", {"reason": reason} if reason else None)
    web.then(session, reply, what, f"/orders/{order_id}?done={done}")


def download(recipe, fmt, name):
    """A recipe as a YAML or JSON file to save."""
    text, content_type = forms.export_recipe(recipe, fmt)
    bottle.response.content_type = content_type
    bottle.response.set_header("Content-Disposition", f'attachment; filename="{name}.{fmt}"')
    return text


def shown_task(order, wanted):
    """The task whose logs the detail page shows: the one asked for, else the first (the create task)."""
    tasks = order.get("tasks", [])
    return next((task for task in tasks if task["_id"] == wanted), tasks[0] if tasks else None)


def task_logs(web, session, task):
    if task is None:
        return []
    reply = session.get(f"/tasks/{task['_id']}/logs?last={LOG_LINES}")
    return web.api_body(session, reply, "read the task's logs")["items"]


def retry_label(order):
    if order["status"] == "creation_failed":
        return "Retry creating the image"
    return "Retry writing the cards still to write"


def live_view(order, logs=()):
    """The small JSON the detail page polls: what it shows, in words (times with their zone)."""
    return {"status": order["status"], "label": status_label(order["status"]),
            "statuses": [{"status": step["status"], "label": status_label(step["status"]), "at": when(step.get("at")),
                          "by": step.get("by", ""), "note": step.get("note", "")}
                         for step in order.get("statuses", [])],
            "logs": [{"at": clock(line.get("at")), "level": line["level"], "message": line["message"]}
                     for line in logs],
            "actions": allowed_actions(order), "retry_label": retry_label(order),
            "image": image_text(order), "cards": written_cards(order),
            "tasks": [{"_id": task["_id"], "short": short_id(task["_id"]), "kind": task["kind"],
                       "status": task["status"], "label": status_label(task["status"], TASK_LABELS),
                       "worker": task.get("worker"), "percent": (task.get("progress") or {}).get("percent"),
                       "progress": progress_line(task.get("progress"))}
                      for task in order.get("tasks", [])]}


def install(app, web):
    operators = ("admin", "manager")

    @app.get("/orders")
    @web.page(operators)
    def list_orders(session):
        query = bottle.request.query
        wanted = [status for status in query.getall("status") if status in STATUSES]
        needle = (query.getunicode("q", "") or "").strip()[:SEARCH_LENGTH]
        after = query.get("after", "")
        params = {"status": ",".join(wanted)} if wanted else {}
        if needle:
            params["q"] = needle  # the API searches (literally, ignoring case)
        listing = {**params, "per_page": PER_PAGE, **({"after": after} if after else {})}
        body = web.api_body(session, session.get("/orders?" + urllib.parse.urlencode(listing)), "list orders")
        items, older = body["items"], body["next"]
        if needle:  # a search is not counted: what this page shows, "+" when more follow
            count = f"{len(items)}{'+' if older else ''}"
        else:  # the API keeps counts by status
            totals = web.api_body(session, session.get("/stats/orders"), "count orders")
            count = str(sum(totals["by_status"].get(status, 0) for status in wanted) if wanted else totals["total"])

        def link(position=None):
            return "/orders?" + urllib.parse.urlencode(
                [("status", status) for status in wanted] + ([("q", needle)] if needle else [])
                + ([("after", position)] if position else []))

        return web.render("orders.tpl", session, orders=items, count=count, first=not after, older=older,
                          wanted=wanted, needle=needle, statuses=STATUSES, link=link)

    @app.get("/orders/new")
    @web.page(operators)
    def new_order(session):
        query = bottle.request.query
        values, recipe = {"card_type": "physical", "quantity": "1", "recipe_source": "compose"}, None
        if forms.is_id(query.get("from", "")):
            reply = session.get(f"/orders/{query['from']}")
            order = web.api_body(session, reply, "read that order")
            recipe = order["recipe"]
            values.update(card_size=str(order["sd_card"]["size"]), card_type=order["sd_card"]["type"],
                          quantity=str(order["quantity"]), recipient_name=order["recipient"]["name"],
                          recipient_email=order["recipient"]["email"],
                          recipient_address=order["recipient"]["address"], warehouse=order.get("warehouse", ""))
        elif forms.is_id(query.get("recipe", "")):
            recipe = web.api_body(session, session.get(f"/recipes/{query['recipe']}"), "read that recipe")["recipe"]
        elif query.get("schedule"):
            schedule = web.api_body(session, session.get(
                f"/schedules/{urllib.parse.quote(query['schedule'], safe='')}"), "read that schedule")
            recipe = schedule.get("params", {}).get("recipe")
        if recipe is not None:
            values.update(forms.recipe_values(recipe))
        return _order_form(web, session, values, {}, recipe)

    @app.post("/orders/new")
    @web.page(operators)
    def place_order(session):
        values, body, errors = posted(forms.order_from_form)
        if errors or values.get("action") == "estimate":
            return _order_form(web, session, values, errors, body and body["recipe"])
        reply = session.post("/orders", body)
        if not reply.ok:
            bottle.response.status = reply.status if reply.status < 500 else 502
            return _order_form(web, session, values, forms.place_error(reply.error), body["recipe"])
        bottle.redirect(f"/orders/{reply.body['_id']}", 303)

    @app.get(f"/orders/{ID}")
    @web.page(operators)
    def order_detail(session, order_id):
        return _detail(web, session, order_id)

    @app.get(f"/orders/{ID}/live.json")
    @web.page(operators)
    def order_live(session, order_id):
        order = web.api_body(session, session.get(f"/orders/{order_id}"), "read the order")
        task = shown_task(order, bottle.request.query.get("task"))
        bottle.response.content_type = "application/json"
        return json.dumps(live_view(order, task_logs(web, session, task)), default=str)

    @app.get(f"/orders/{ID}/recipe.<fmt:re:yaml|json>")
    @web.page(operators)
    def export(session, order_id, fmt):
        order = web.api_body(session, session.get(f"/orders/{order_id}"), "read the order")
        return download(order["recipe"], fmt, f"recipe-{order_id}")

    @app.post(f"/orders/{ID}/cancel")
    @web.page(operators)
    def cancel(session, order_id):
        _with_reason(web, session, order_id, "cancel", "cancel the order", "canceled")

    @app.post(f"/orders/{ID}/retry")
    @web.page(operators)
    def retry(session, order_id):
        _with_reason(web, session, order_id, "retry", "retry the order", "retried")

    @app.post(f"/orders/{ID}/ship")
    @web.page(operators)
    def ship(session, order_id):
        form = bottle.request.forms
        shipment = {key: form.getunicode(key, "").strip() for key in ("carrier", "tracking_number", "tracking_url", "note")}
        reply = session.post(f"/orders/{order_id}/ship", {key: value for key, value in shipment.items() if value})
        if not reply.ok:
            bottle.response.status = reply.status if reply.status < 500 else 502
            return _detail(web, session, order_id, errors=forms.place_error(reply.error, "ship"), shipment=shipment)
        bottle.redirect(f"/orders/{order_id}?done=shipped", 303)

    @app.post(f"/orders/{ID}/more")
    @web.page(operators)
    def order_more(session, order_id):
        body = more_of_image(order_id, bottle.request.forms)
        reply = session.post("/orders", body)
        if not reply.ok:
            bottle.response.status = reply.status if reply.status < 500 else 502
            return _detail(web, session, order_id, errors={"order_more": reply.error}, more=body)
        bottle.redirect(f"/orders/{reply.body['_id']}", 303)

    @app.post(f"/orders/{ID}/delete")
    @web.page(operators)
    def delete(session, order_id):
        web.then(session, session.call("DELETE", f"/orders/{order_id}"), "delete the order", "/orders")


def _detail(web, session, order_id, **extra):
    order = web.api_body(session, session.get(f"/orders/{order_id}"), "read the order")
    task = shown_task(order, bottle.request.query.get("task"))
    return web.render("order.tpl", session, order=order, live=live_view(order, task_logs(web, session, task)),
                      actions=allowed_actions(order), shown=task, **extra)


def _order_form(web, session, values, errors, recipe):
    warehouses = web.api_body(session, session.get("/warehouses?per_page=200"), "list warehouses")["items"]
    schedules = web.api_body(session, session.get("/schedules?per_page=200"), "list schedules")["items"]
    pickable = [schedule["name"] for schedule in schedules
                if schedule["job"] == "auto_image" and "recipe" in schedule.get("params", {})]
    kept = web.api_body(session, session.get("/recipes?per_page=200"), "list recipes")["items"]
    return web.render("order_new.tpl", session, values=values, errors=errors, warehouses=warehouses,
                      pickable=pickable, kept=kept, **forms.estimate_view(values, recipe))
