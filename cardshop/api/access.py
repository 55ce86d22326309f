"""Who is calling: the bearer token checked against the user as stored now."""

from cardshop.api.routing import ApiError
from cardshop.auth.tokens import TokenError

_CHALLENGE = {"WWW-Authenticate": "Bearer"}
_PROJECTION = {"username": 1, "role": 1, "active": 1, "revoked_sessions": 1}


def make_authenticator(db, tokens):
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
        user = db.users.find_one({"username": claims["sub"]}, _PROJECTION)
        if user is None or not user.get("active"):
            raise ApiError(401, "user unknown or disabled", _CHALLENGE)
        if claims["sid"] in user.get("revoked_sessions", {}):
            raise ApiError(401, "session revoked; log in again", _CHALLENGE)
        user["sid"] = claims["sid"]
        return user

    return authenticate
