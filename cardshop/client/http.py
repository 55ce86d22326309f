"""A small JSON client for the scheduler API (standard library only)."""

import dataclasses
import json
import ssl
import urllib.error
import urllib.request


class ApiUnreachable(Exception):
    """No answer: the API could not be reached, or (ApiSlow) did not answer in time."""


class ApiSlow(ApiUnreachable):
    """The API took the request but did not answer within the client's timeout: slow, not down."""


class ApiCertificateError(ApiUnreachable):
    """The API's TLS certificate is not signed by a CA of the client's `ca_file` (or of the system's bundle)."""


def opener(ca_file=None, proxies=None):
    """An opener whose https:// checks certificates against `ca_file` (the system's bundle when None).

    `proxies`: {"http": URL, "https": URL}, {} for none; None takes the environment's proxy variables.
    """
    handlers = [urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=ca_file))] if ca_file else []
    if proxies is not None:
        handlers.append(urllib.request.ProxyHandler(proxies))
    return urllib.request.build_opener(*handlers)


@dataclasses.dataclass
class Response:
    status: int
    body: object
    headers: object = dataclasses.field(repr=False)

    @property
    def ok(self):
        return 200 <= self.status < 300

    @property
    def error(self):
        if isinstance(self.body, dict) and "error" in self.body:
            return self.body["error"]
        return f"HTTP {self.status}"


class ApiClient:
    def __init__(self, base_url, token=None, timeout=30, ca_file=None, proxies=None):
        """`ca_file`: the CA bundle an https:// API's certificate must chain to; `proxies` as opener() takes."""
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.ca_file = ca_file
        self._opener = opener(ca_file, proxies)

    def request(self, method, path, body=None, *, data=None, headers=None, token=None, timeout=None):
        """Send JSON `body` (or raw `data` bytes); return a Response whatever the status.

        `timeout` (default the client's) bounds the connection and then each wait for the answer.
        """
        headers = dict(headers or {})
        if body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        bearer = token if token is not None else self.token
        if bearer:
            headers.setdefault("Authorization", f"Bearer {bearer}")
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        try:
            with self._opener.open(request, timeout=timeout or self.timeout) as reply:
                return self._response(reply.status, reply.read(), reply.headers)
        except urllib.error.HTTPError as error:
            return self._response(error.code, error.read(), error.headers)
        except urllib.error.URLError as exc:  # the connection itself failed (refused, no route, timed out)
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise self._untrusted(exc.reason) from None
            raise ApiUnreachable(f"cannot reach the API at {self.base_url}: {exc.reason}") from None
        except TimeoutError:  # connected and sent, then no answer in time
            raise ApiSlow(f"the API at {self.base_url} did not answer {method} {path.split('?')[0]} within "
                          f"{timeout or self.timeout} s (it is slow, not unreachable)") from None
        except OSError as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiUnreachable(f"cannot reach the API at {self.base_url}: {reason}") from None

    def _untrusted(self, error):
        where = f"the CA file {self.ca_file}" if self.ca_file else "the system's CA bundle (no ca_file given)"
        return ApiCertificateError(f"the API at {self.base_url} has a TLS certificate that {where} does not "
                                   f"verify: {error.verify_message or error.reason}; give the fleet's CA as "
                                   "ca_file")

    @staticmethod
    def _response(status, raw, headers):
        content_type = headers.get("Content-Type", "")
        if content_type.startswith("application/json") and raw:
            try:
                return Response(status, json.loads(raw), headers)
            except ValueError:
                pass
        return Response(status, raw.decode(errors="replace"), headers)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body, **kwargs)

    def patch(self, path, body=None, **kwargs):
        return self.request("PATCH", path, body, **kwargs)

    def put(self, path, body=None, **kwargs):
        return self.request("PUT", path, body, **kwargs)

    def delete(self, path, **kwargs):
        return self.request("DELETE", path, **kwargs)
