import socket

from devstack import processes


def test_free_ports_lie_outside_the_ephemeral_range_and_are_never_handed_out_twice():
    low, high = processes._ephemeral_range()
    ports = [processes.free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(not low <= port <= high and port >= processes._LOWEST_PORT for port in ports)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", ports[-1]))  # free indeed
