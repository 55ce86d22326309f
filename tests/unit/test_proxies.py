"""Whose address a request is counted against: forwarding headers count only from configured proxies."""

import pytest

from cardshop.proxies import ProxyError, TrustedProxies, network

FRONT = TrustedProxies([network("10.0.0.0/24"), network("2001:db8::1")])


def test_x_forwarded_for_from_a_peer_not_trusted_is_ignored():
    assert FRONT.forwarded_client("192.0.2.7", "198.51.100.1, 10.0.0.5") == "192.0.2.7"
    assert TrustedProxies().forwarded_client("127.0.0.1", "198.51.100.1") == "127.0.0.1"


def test_behind_a_trusted_proxy_the_client_is_the_right_most_address_not_a_proxy():
    # the client wrote 203.0.113.9 itself; the front appended the address it saw
    assert FRONT.forwarded_client("10.0.0.2", "203.0.113.9, 198.51.100.1") == "198.51.100.1"
    assert FRONT.forwarded_client("10.0.0.2", "203.0.113.9, 198.51.100.1, 10.0.0.3") == "198.51.100.1"
    assert FRONT.forwarded_client("::ffff:10.0.0.2", "[2001:db8::7], 2001:db8::1") == "2001:db8::7"


def test_when_every_hop_is_a_trusted_proxy_the_left_most_is_the_client():
    assert FRONT.forwarded_client("10.0.0.2", "10.0.0.9, 10.0.0.8") == "10.0.0.9"


def test_a_trusted_proxy_without_the_header_is_itself_the_client():
    assert FRONT.forwarded_client("10.0.0.2", None) == "10.0.0.2"


def test_a_malformed_hop_from_a_trusted_proxy_is_refused():
    with pytest.raises(ProxyError, match="'unknown', not an IP address"):
        FRONT.forwarded_client("10.0.0.2", "unknown, 10.0.0.3")


def test_the_client_address_header_counts_only_from_a_trusted_proxy():
    assert FRONT.named_client("10.0.0.2", "198.51.100.4") == "198.51.100.4"
    assert FRONT.named_client("10.0.0.2", "::ffff:198.51.100.4") == "198.51.100.4"
    assert FRONT.named_client("192.0.2.7", None) == "192.0.2.7"
    with pytest.raises(ProxyError, match="api.trusted_proxies"):
        FRONT.named_client("192.0.2.7", "198.51.100.4")
    with pytest.raises(ProxyError, match="not an IP address"):
        FRONT.named_client("10.0.0.2", "198.51.100.4, 10.0.0.1")
