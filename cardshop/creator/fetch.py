"""HTTP(S) for recipe URLs, only towards addresses the creator may reach.

A recipe comes from a customer: its URLs must not make the creator fetch
from its own host, the local network or cloud metadata services. Every
connection (the first and each redirect's) resolves the host and refuses
loopback, private, link-local, shared, multicast, reserved and
unspecified addresses, IPv4 ones hidden in IPv6 included, unless the
creator's `fetch_allow` lists them. The check is on the address actually
connected to (the socket's peer), so a name that answers differently on a
second lookup gains nothing. Redirects go only to http(s) URLs; proxies
from the environment are ignored (a proxy would fetch on our behalf,
beyond this check).

Errors say what happened in our words (HTTP status, refused address,
timeout), never text the remote side sent.
"""

import functools
import http.client
import ipaddress
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request

from cardshop import faults
from cardshop.config.load import ConfigError

SCHEMES = ("http", "https")


class FetchError(Exception):
    """A URL the creator must not or cannot fetch; `transient` says whether trying later may work."""

    def __init__(self, message, transient=False):
        super().__init__(message)
        self.transient = transient


def _embedded_ipv4(address):
    """The IPv4 address an IPv6 one carries (mapped, 6to4, Teredo, NAT64), or None."""
    if address.version != 6:
        return None
    if address.ipv4_mapped:
        return address.ipv4_mapped
    if address.sixtofour:
        return address.sixtofour
    if address.teredo:
        return address.teredo[1]
    if address in ipaddress.ip_network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _kind(address):
    """Why an address is off limits ("loopback", "private", ...), or None when it is public."""
    for check, words in (("is_unspecified", "unspecified"), ("is_loopback", "loopback"),
                         ("is_link_local", "link-local"), ("is_multicast", "multicast"),
                         ("is_private", "private"), ("is_reserved", "reserved")):
        if getattr(address, check):
            return words
    if not address.is_global:
        return "non-public"
    return None


class Policy:
    """Which addresses recipe URLs may lead to: public ones, and those `allow` lists.

    `allow` holds {"network": "10.1.2.0/24", "port": 8080} entries (port optional).
    """

    def __init__(self, allow=()):
        self.allow = []
        for index, entry in enumerate(allow):
            try:
                self.allow.append((ipaddress.ip_network(entry["network"], strict=False), entry.get("port")))
            except ValueError:
                raise ConfigError(f"key 'creator.fetch_allow.{index}.network': {entry['network']!r} is not "
                                  f"an IP address or network") from None

    def refusal(self, ip, port):
        """None when (ip, port) may be fetched from, else the reason in words."""
        address = ipaddress.ip_address(ip.split("%", 1)[0])
        for network, allowed_port in self.allow:
            if address in network and allowed_port in (None, port):
                return None
        inner = _embedded_ipv4(address)
        kind = (_kind(inner) if inner else None) or _kind(address)
        if kind is None:
            return None
        return f"{ip} is a {kind} address (allow it in creator.fetch_allow to fetch from it)"

    def connect(self, address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None):
        """socket.create_connection, refusing addresses off limits (checked on the connected peer)."""
        host, port = address
        refusals, last_error = [], None
        for family, kind, proto, _, sockaddr in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
            reason = self.refusal(sockaddr[0], port)
            if reason:
                refusals.append(reason)
                continue
            sock = socket.socket(family, kind, proto)
            try:
                if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                    sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                reason = self.refusal(sock.getpeername()[0], port)
                if reason:
                    raise FetchError(f"{host}: {reason}")
                return sock
            except OSError as exc:
                sock.close()
                last_error = exc
            except FetchError:
                sock.close()
                raise
        if last_error is not None:
            raise last_error
        raise FetchError(f"{host}: " + "; ".join(dict.fromkeys(refusals)))


def _guarded(connection_class, policy):
    class Guarded(connection_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = policy.connect

    Guarded.__name__ = "Guarded" + connection_class.__name__
    return Guarded


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, policy):
        super().__init__()
        self.connection_class = _guarded(http.client.HTTPConnection, policy)

    def http_open(self, req):
        return self.do_open(self.connection_class, req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, policy):
        super().__init__(context=ssl.create_default_context())
        self.connection_class = _guarded(http.client.HTTPSConnection, policy)

    def https_open(self, req):
        return self.do_open(self.connection_class, req, context=self._context)


class _RedirectHandler(urllib.request.HTTPRedirectHandler):
    def http_error_302(self, req, fp, code, msg, headers):
        target = headers.get("location") or headers.get("uri")
        if target is not None:
            scheme = urllib.parse.urlsplit(urllib.parse.urljoin(req.full_url, target)).scheme
            if scheme not in SCHEMES:
                fp.close()
                raise FetchError(f"{req.full_url} redirects to a {scheme or 'schemeless'} URL; "
                                 f"only http(s) is followed")
        return super().http_error_302(req, fp, code, msg, headers)

    http_error_301 = http_error_303 = http_error_307 = http_error_308 = http_error_302


def opener(allow=()):
    """A urllib opener for http(s) only, no environment proxies, guarded by Policy(allow)."""
    policy = Policy(allow)
    director = urllib.request.OpenerDirector()
    for handler in (_HTTPHandler(policy), _HTTPSHandler(policy), _RedirectHandler(),
                    urllib.request.HTTPDefaultErrorHandler(), urllib.request.HTTPErrorProcessor()):
        director.add_handler(handler)
    director.open = functools.partial(_open, director.open)
    return director


def _open(open_, request, *args, **kwargs):
    url = request.full_url if isinstance(request, urllib.request.Request) else request
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in SCHEMES:
        raise FetchError(f"{url}: only http and https URLs are fetched, not {scheme or 'schemeless'} ones")
    return open_(request, *args, **kwargs)


def describe(exc):
    """(words, transient) for a failure met while fetching: a refusal of our own in its words, any other in
    cardshop.faults' (which never echo what the server said), with faults' verdict."""
    return (str(exc) if isinstance(exc, FetchError) else faults.words(exc)), faults.is_transient(exc)


def safe_cause(exc):
    """`exc` if its text is ours to show, else None (HTTP reason phrases and bad status lines are the server's)."""
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return safe_cause(exc.reason) if isinstance(exc.reason, BaseException) else None
    if isinstance(exc, (FetchError, ConnectionError, socket.timeout, TimeoutError, socket.gaierror, ssl.SSLError)):
        return exc
    if isinstance(exc, OSError) and not isinstance(exc, urllib.error.HTTPError):
        return exc
    return None
