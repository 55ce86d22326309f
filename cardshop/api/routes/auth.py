"""Log in, refresh, log out, and let the warehouse validate a token."""

import logging

from cardshop.api import schemas
from cardshop.api.routing import Api, ApiError
from cardshop.auth import roles
from cardshop.auth.passwords import Busy, TooManyWaiting
from cardshop.auth.ratelimit import RateLimited
from cardshop.auth.throttle import Throttled
from cardshop.auth.tokens import TokenError
from cardshop.domain.users import check_credentials
from cardshop.states.tasks import ENDED
from cardshop.store import tasks, users

log = logging.getLogger(__name__)
api = Api()
FINAL_TASK_STATUSES = ENDED


def active_user(db, username):
    user = users.find(db, username)
    return user if user and user.get("active") else None


NO_STORE = {"Cache-Control": "no-store"}


@api.route("POST", "/auth/authorize", summary="Log in with username and password",
           body=schemas.CREDENTIALS, response=schemas.TOKEN_PAIR, errors=[400, 401, 429, 503],
           headers=NO_STORE)
def authorize(call):
    try:
        user = check_credentials(call.services, call.body["username"], call.body["password"],
                                 call.client)
    except (Throttled, RateLimited, TooManyWaiting) as exc:
        raise ApiError(429, str(exc), {"Retry-After": str(exc.retry_after)}) from None
    except Busy as exc:
        raise ApiError(503, str(exc), {"Retry-After": str(exc.retry_after)}) from None
    if user is None:
        raise ApiError(401, "wrong username or password, or user disabled")
    log.info("%s logged in", user["username"])
    return call.services.tokens.issue(user)


@api.route("POST", "/auth/token", summary="Exchange a refresh token for a new pair (single use)",
           body=schemas.REFRESH, response=schemas.TOKEN_PAIR, errors=[400, 401], headers=NO_STORE)
def refresh(call):
    db = call.services.db
    try:
        return call.services.tokens.refresh(call.body["refresh_token"],
                                            lambda username: active_user(db, username))
    except TokenError as exc:
        raise ApiError(401, str(exc)) from None


@api.route("POST", "/auth/revoke", summary="Log out: end the session of a refresh token or of the bearer",
           body=schemas.REVOKE, body_optional=True, errors=[400, 401],
           response=schemas.obj({"revoked": {"type": "boolean"}}))
def revoke(call):
    tokens = call.services.tokens
    if "refresh_token" in call.body:
        session = tokens.session_of(call.body["refresh_token"])
        if session is None:
            raise ApiError(401, "unknown refresh token")
        tokens.revoke_session(*session)
    else:
        user = call.services.authenticate(call.request.get_header("Authorization"))
        tokens.revoke_session(user["username"], user["sid"])
    return {"revoked": True}


@api.route("POST", "/auth/validate", summary="Who the bearer access token belongs to",
           roles=roles.ALL, response=schemas.IDENTITY, errors=[401])
def validate(call):
    identity = {"username": call.user["username"], "role": call.user["role"]}
    if call.user["role"] in roles.WORKERS:
        # The warehouse lets a creator write only into the folders of the tasks it holds.
        identity["tasks"] = tasks.ids_held_by_not_in(call.services.db, call.user["username"], FINAL_TASK_STATUSES)
    return identity
