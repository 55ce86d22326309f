"""Who is calling: the bearer token checked against the user as stored now."""

from cardshop.api.routing import ApiError
from cardshop.auth.tokens import TokenError

_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def make_authenticator(users, tokens):
    """`users` is a UserCache."""
    def authenticate(header):
        if not header:
            raise ApiError(401, "missing Authorization header (expected 'Bearer <access token>')", _CHALLENGE)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiError(401, "Authorization header must be 'Bearer <access token>'", _CHALLENGE)
        try:
            claims = tokens.decode(token.strip())
        except TokenError as exc:
            raise ApiError(401, str(exc), _CHALLENGE) from None
        user = users.get(claims["sub"])
        if user is None or not user.get("active") or user["_id"] != claims["uid"]:
            raise ApiError(401, "user unknown or disabled", _CHALLENGE)
        if claims["sid"] in user.get("revoked_sessions", {}):
            raise ApiError(401, "session revoked; log in again", _CHALLENGE)
        return {**user, "sid": claims["sid"]}

    return authenticate
