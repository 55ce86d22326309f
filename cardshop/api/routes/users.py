"""Users: admins manage everyone; anyone reads themselves and changes their own password."""

import logging

from cardshop.api import schemas
from cardshop.api.resources import paginate
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.auth.passwords import Busy
from cardshop.domain.users import create_user
from cardshop.notify.kinds import OPERATOR_KINDS, SUBSCRIBER_ROLES
from cardshop.store import now, refresh_tokens, users
from cardshop.store.users import PUBLIC_FIELDS, UserTaken

log = logging.getLogger(__name__)
api = Api()


def _get(db, username):
    user = users.find(db, username, PUBLIC_FIELDS)
    if user is None:
        raise ApiError(404, f"no user {username!r}")
    return user


def _admin_or_self(call):
    if call.user["role"] != roles.ADMIN and call.user["username"] != call.params["username"]:
        raise ApiError(403, "only admins may act on other users")


def _keep_an_admin(db, username, losing):
    """Refuse a change that would leave no active admin."""
    if not losing:
        return
    target = users.find(db, username, {"role": 1, "active": 1})
    if target and target["role"] == roles.ADMIN and target.get("active"):
        if users.count_with_role(db, roles.ADMIN, active=True) <= 1:
            raise ApiError(409, f"{username!r} is the last active admin")


@api.route("POST", "/users", summary="Create a user", roles=[roles.ADMIN],
           body=schemas.USER_CREATE, response=schemas.USER, status=201, errors=[400, 401, 403, 409])
def create(call):
    body = call.body
    try:
        user = create_user(call.services.db, call.services.hasher, body["username"], body["email"],
                           body["password"], body["role"], body.get("active", True))
    except UserTaken as exc:
        raise ApiError(409, str(exc)) from None
    log.info("%s created user %s (%s)", call.actor, user["username"], user["role"])
    return user


@api.route("GET", "/users", summary="List users", roles=[roles.ADMIN],
           query={**schemas.PAGE_QUERY, "role": {"enum": list(roles.ALL)}, "active": {"enum": ["true", "false"]}},
           response=schemas.page_of(schemas.USER), errors=[400, 401, 403])
def list_users(call):
    filters = {}
    if "role" in call.query:
        filters["role"] = call.query["role"]
    if "active" in call.query:
        filters["active"] = call.query["active"] == "true"
    return paginate(call.services.db.users, call.query, filters, [("username", 1)], PUBLIC_FIELDS)


@api.route("GET", "/users/{username}", summary="Read a user (admins: anyone; others: themselves)",
           roles=roles.ALL, response=schemas.USER, errors=[401, 403, 404])
def read(call):
    _admin_or_self(call)
    return _get(call.services.db, call.params["username"])


@api.route("PATCH", "/users/{username}", summary="Change a user's email, role or active flag",
           roles=[roles.ADMIN], body=schemas.USER_UPDATE, response=schemas.USER,
           errors=[400, 401, 403, 404, 409])
def update(call):
    db, username, body = call.services.db, call.params["username"], call.body
    current = _get(db, username)
    if current["role"] == roles.SYSTEM:
        raise ApiError(409, "the system user is managed by the scheduler's configuration")
    _keep_an_admin(db, username, body.get("active") is False
                   or ("role" in body and body["role"] != roles.ADMIN))
    changes = {key: value for key, value in body.items()}
    if "email" in changes:
        changes["email"] = changes["email"].lower()
    changes["updated_at"] = now()
    try:
        users.update(db, username, changes)
    except UserTaken as exc:
        raise ApiError(409, str(exc)) from None
    call.services.users.forget(username)
    if body.get("active") is False:
        call.services.tokens.revoke_all(username)
    log.info("%s changed user %s: %s", call.actor, username, ", ".join(sorted(body)))
    return _get(db, username)


@api.route("PUT", "/users/{username}/notify",
           summary="Choose the e-mail notifications a user receives (one's own; admins: anyone's)",
           roles=roles.ALL, body=schemas.NOTIFY_UPDATE, response=schemas.USER, errors=[400, 401, 403, 404, 409])
def set_notify(call):
    _admin_or_self(call)
    db, username, kinds = call.services.db, call.params["username"], call.body["notify"]
    unknown = [kind for kind in kinds if kind not in OPERATOR_KINDS]
    if unknown:
        raise ApiError(400, f"field 'notify': unknown notification kind(s) {', '.join(map(repr, unknown))}; "
                            f"expected some of {', '.join(map(repr, OPERATOR_KINDS))}")
    current = _get(db, username)
    if kinds and current["role"] not in SUBSCRIBER_ROLES:
        raise ApiError(409, f"only {' and '.join(SUBSCRIBER_ROLES)} users receive notifications; "
                            f"{username!r} is a {current['role']} account")
    users.update(db, username, {"notify": [kind for kind in OPERATOR_KINDS if kind in kinds], "updated_at": now()})
    log.info("%s set the notifications of %s: %s", call.actor, username, ", ".join(kinds) or "none")
    return _get(db, username)


@api.route("POST", "/users/{username}/password",
           summary="Change a password (one's own, with the current one) or reset it (admins)",
           roles=roles.ALL, body=schemas.PASSWORD_CHANGE,
           response=schemas.obj({"changed": {"type": "boolean"}}), errors=[400, 401, 403, 404, 409, 503])
def change_password(call):
    _admin_or_self(call)
    db, username, services = call.services.db, call.params["username"], call.services
    user = users.find(db, username)
    if user is None:
        raise ApiError(404, f"no user {username!r}")
    if user["role"] == roles.SYSTEM:
        raise ApiError(409, "the system user's password is managed by the scheduler's configuration")
    own = call.user["username"] == username
    if own:
        current = call.body.get("current_password")
        if current is None:
            raise ApiError(400, "missing field 'current_password' (needed to change one's own password)")
        try:
            right = services.hasher.verify(current, user["password_hash"], call.client, username)
        except Busy as exc:
            raise ApiError(503, str(exc), {"Retry-After": str(exc.retry_after)}) from None
        if not right:
            raise ApiError(403, "current_password is wrong")
    users.set_password_hash(db, user["_id"], services.hasher.hash(call.body["password"]), now())
    services.tokens.revoke_all(username)
    log.info("%s %s the password of %s", call.actor, "changed" if own else "reset", username)
    return {"changed": True}


@api.route("DELETE", "/users/{username}", summary="Delete a user; their tokens stop working at once",
           roles=[roles.ADMIN], status=204, errors=[401, 403, 404, 409])
def delete(call):
    db, username = call.services.db, call.params["username"]
    user = _get(db, username)
    if user["role"] == roles.SYSTEM:
        raise ApiError(409, "the system user is managed by the scheduler's configuration")
    _keep_an_admin(db, username, True)
    users.delete(db, username)
    call.services.users.forget(username)
    refresh_tokens.delete_of_user(db, username)
    call.services.throttle.forget_user(username)
    log.info("%s deleted user %s", call.actor, username)
    return None
