"""The helper's logins to the scheduler: through writer.yaml's proxy only and checked against its CA file,
as the writer reaches it."""

from cardshop.client import ApiClient, ApiUnreachable, Login

# How log_in reaches the scheduler: set once from writer.yaml (or the answers) by use_proxy.
_route = {"proxies": {}, "ca_file": None}


class LoginError(Exception):
    """The scheduler refused the login (`kind` login) or could not be reached (`kind` unreachable)."""

    def __init__(self, message, kind):
        super().__init__(message)
        self.kind = kind


def use_proxy(proxy, ca_file=None):
    """Reach the scheduler through `proxy` only (None: directly, whatever the environment's proxy
    variables say), checking an https:// API's certificate against `ca_file` (None: the system's bundle)."""
    _route["proxies"] = {"http": proxy, "https": proxy} if proxy else {}
    _route["ca_file"] = ca_file


def log_in(api_url, username, secret):
    """(the Login of `username`, its role); revoke the Login when done."""
    login = Login(ApiClient(api_url, timeout=15, **_route))
    try:
        reply = login.authorize(username, secret)
        if not reply.ok:
            raise LoginError(f"the scheduler at {api_url} refused the login of {username}: {reply.error}", "login")
        who = login.client.post("/auth/validate")
    except ApiUnreachable as exc:
        raise LoginError(str(exc), "unreachable") from None
    return login, (who.body.get("role") if isinstance(who.body, dict) else None)
