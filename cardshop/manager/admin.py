"""Admin pages: users (create, enable/disable, reset password, change role, choose their e-mail notifications)
and the beat's schedules."""

import json
import urllib.parse

import bottle

from cardshop.domain.jobs import CATALOGUE, slow_run
from cardshop.manager import forms
from cardshop.notify.kinds import OPERATOR_KINDS, SUBSCRIBER_ROLES

ADMINS = ("admin",)
ROLES = ("admin", "manager", "creator", "writer")
USER_FIELDS = ("username", "email", "password", "role")
SCHEDULE_FIELDS = ("name", "job", "every", "crontab", "params")
JOBS = sorted(CATALOGUE)
PATH_NAME = "<name:re:[a-z][a-z0-9_-]{0,63}>"


def schedule_from_form(form):
    """The API body of a schedule from its form; FormError for what cannot be read."""
    body = {"job": form.get("job", "")}
    every, crontab = form.get("every", "").strip(), form.get("crontab", "").strip()
    if every:
        if not every.isdigit():
            raise forms.FormError("every", f"every: a number of seconds is needed, got {every!r}")
        body["every"] = int(every)
    if crontab:
        body["crontab"] = crontab
    text = form.get("params", "").strip()
    if text:
        body["params"] = forms.parse_mapping(text, "params", "parameters are a mapping, such as 'every: 60'")
    body["enabled"] = form.get("enabled") == "on"
    return body


RESULT_SHOWN = 120  # characters of a run's summary in the list; the API has all of it


def last_run(schedule):
    """How the last run went, as the list shows it: {"took", "result" (its summary or error, cut),
    "failed", "slow" (longer than a tenth of its period)}."""
    duration, result = schedule.get("last_duration"), schedule.get("last_result")
    if not isinstance(duration, (int, float)):
        return {"took": "", "result": "", "failed": False, "slow": False}
    text = json.dumps(result, separators=(", ", ": "), sort_keys=True) if result is not None else ""
    if len(text) > RESULT_SHOWN:
        text = text[:RESULT_SHOWN - 1] + "…"
    return {"took": f"{duration:.2f} s", "result": text, "failed": isinstance(result, dict) and "error" in result,
            "slow": slow_run(duration, schedule.get("every"))}


def install(app, web):
    @app.get("/users")
    @web.page(ADMINS)
    def users(session):
        return _users_page(web, session, {}, {})

    @app.post("/users")
    @web.page(ADMINS)
    def create_user(session):
        form = bottle.request.forms
        values = {name: form.getunicode(name, "").strip() for name in USER_FIELDS}
        reply = session.post("/users", values)
        if not reply.ok:
            bottle.response.status = reply.status if reply.status < 500 else 502
            return _users_page(web, session, values, forms.place_error(reply.error, "create", USER_FIELDS))
        bottle.redirect(f"/users?done=created+{urllib.parse.quote(values['username'])}", 303)

    @app.post(f"/users/{PATH_NAME}")
    @web.page(ADMINS)
    def change_user(session, name):
        form = bottle.request.forms
        action = form.get("action", "")
        if action == "password":
            reply = session.post(f"/users/{name}/password", {"password": form.getunicode("password", "")})
        elif action in ("enable", "disable"):
            reply = session.patch(f"/users/{name}", {"active": action == "enable"})
        elif action == "role":
            reply = session.patch(f"/users/{name}", {"role": form.get("role", "")})
        elif action == "notify":
            reply = session.put(f"/users/{name}/notify", {"notify": form.getall("notify")})
        else:
            bottle.response.status = 400
            return _users_page(web, session, {}, {name: f"unknown action {action!r}"})
        if not reply.ok:
            bottle.response.status = reply.status if reply.status < 500 else 502
            return _users_page(web, session, {}, {name: reply.error})
        bottle.redirect(f"/users?done={action}+{name}", 303)

    @app.get("/schedules")
    @web.page(ADMINS)
    def schedules(session):
        items = web.api_body(session, session.get("/schedules?per_page=200"), "list schedules")["items"]
        return web.render("schedules.tpl", session, schedules=items, message=_done(), last_run=last_run)

    @app.get("/schedules/new")
    @web.page(ADMINS)
    def new_schedule(session):
        return web.render("schedule_form.tpl", session, values={"enabled": "on"}, editing=None, jobs=JOBS)

    @app.post("/schedules/new")
    @web.page(ADMINS)
    def create_schedule(session):
        values = {name: bottle.request.forms.getunicode(name, "") for name in (*SCHEDULE_FIELDS, "enabled")}
        return _save_schedule(web, session, values, None)

    @app.get(f"/schedules/{PATH_NAME}")
    @web.page(ADMINS)
    def edit_schedule(session, name):
        schedule = web.api_body(session, session.get(f"/schedules/{name}"), "read the schedule")
        values = {"name": name, "job": schedule["job"], "every": str(schedule.get("every", "")),
                  "crontab": schedule.get("crontab", ""), "enabled": "on" if schedule.get("enabled") else "",
                  "params": forms.export_recipe(schedule.get("params") or {}, "yaml")[0]}
        return web.render("schedule_form.tpl", session, values=values, editing=name, jobs=JOBS)

    @app.post(f"/schedules/{PATH_NAME}")
    @web.page(ADMINS)
    def update_schedule(session, name):
        if bottle.request.forms.get("action") in ("pause", "resume"):
            reply = session.patch(f"/schedules/{name}", {"enabled": bottle.request.forms["action"] == "resume"})
            web.then(session, reply, "change the schedule", f"/schedules?done={bottle.request.forms['action']}+{name}")
        values = {name_: bottle.request.forms.getunicode(name_, "") for name_ in (*SCHEDULE_FIELDS, "enabled")}
        values["name"] = name
        return _save_schedule(web, session, values, name)


def _save_schedule(web, session, values, editing):
    try:
        body = schedule_from_form(values)
    except forms.FormError as exc:
        bottle.response.status = 400
        return web.render("schedule_form.tpl", session, values=values, editing=editing, jobs=JOBS,
                          errors={exc.field: str(exc)})
    if editing:
        reply = session.patch(f"/schedules/{editing}", body)
    else:
        reply = session.post("/schedules", {"name": values.get("name", "").strip(), **body})
    if not reply.ok:
        bottle.response.status = reply.status if reply.status < 500 else 502
        errors = forms.place_error(reply.error, "form", SCHEDULE_FIELDS)
        return web.render("schedule_form.tpl", session, values=values, editing=editing, jobs=JOBS, errors=errors)
    bottle.redirect(f"/schedules?done=saved+{urllib.parse.quote(values.get('name', ''))}", 303)


def _done():
    done = bottle.request.query.getunicode("done", "")
    return f"Done: {done}." if done else None


def _users_page(web, session, values, errors):
    page = bottle.request.query.get("page", "1")
    page = int(page) if page.isdigit() and int(page) > 0 else 1
    body = web.api_body(session, session.get(f"/users?per_page=100&page={page}"), "list users")
    return web.render("users.tpl", session, users=body["items"], total=body["total"], page=page,
                      values=values, errors=errors, roles=ROLES, message=_done(), kinds=OPERATOR_KINDS,
                      subscribers=SUBSCRIBER_ROLES)
