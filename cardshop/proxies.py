"""Which client a request comes from when proxies stand between: only configured proxies are believed.

Login limits count per client address, so a client must not choose its own.
The manager calls the API for every browser: it names the browser in
CLIENT_ADDRESS_HEADER, which the API believes only from a peer its
`api.trusted_proxies` lists (a header from anyone else is refused, so a
misconfigured manager shows at its first login). The manager reads
X-Forwarded-For only from a peer its `http.trusted_proxies` lists and takes
the right-most address there that is not one of those proxies: everything to
its left was written by the client.
"""

import ipaddress

CLIENT_ADDRESS_HEADER = "X-Cardshop-Client-Address"


class ProxyError(Exception):
    """A forwarding header that cannot be believed: from a peer not trusted, or not an address."""


def network(entry):
    """An address or network (CIDR) of a trusted_proxies list; ValueError when it is neither."""
    return ipaddress.ip_network(entry, strict=False)


def _address(text):
    """The address `text` names, IPv4-mapped IPv6 read as IPv4; None when it is not an address."""
    try:
        address = ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped:  # a dual-stack listener's view of an IPv4 client
        return address.ipv4_mapped
    return address


class TrustedProxies:
    """The peers whose word on the client's address counts (none by default)."""

    def __init__(self, networks=()):
        self.networks = tuple(networks)

    def trusts(self, address):
        parsed = _address(address)
        return parsed is not None and self._listed(parsed)

    def _listed(self, address):
        return any(address in trusted for trusted in self.networks)

    def named_client(self, peer, named):
        """The API's client: the address a trusted peer names (`named`, the header's value), else the peer."""
        if named is None:
            return peer
        if not self.trusts(peer):
            raise ProxyError(f"{CLIENT_ADDRESS_HEADER} is only accepted from a proxy that api.trusted_proxies "
                             f"lists, and {peer} is not one")
        address = _address(named)
        if address is None:
            raise ProxyError(f"{CLIENT_ADDRESS_HEADER} {named[:64]!r} is not an IP address")
        return str(address)

    def forwarded_client(self, peer, forwarded_for):
        """The manager's client: from a trusted peer, the right-most X-Forwarded-For address that is not a
        trusted proxy (the left-most when all are); from any other peer, the peer."""
        if not forwarded_for or not self.trusts(peer):
            return peer
        hops = forwarded_for.split(",")
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:  # a trusted proxy wrote it, or passed on what a client wrote unchecked
                raise ProxyError(f"X-Forwarded-For from trusted proxy {peer} has {hop.strip()[:64]!r}, "
                                 "not an IP address")
            if not self._listed(address):
                return str(address)
        return str(address)
