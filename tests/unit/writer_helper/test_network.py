"""network: the request checked (errors name the argument), the networkd file it makes, and a try's file kept
or put back (cardshop/writer_helper/network.py). Applied in a booted machine: tests/system/network."""

import os
import time

import pytest

from cardshop.writer_helper import network
from cardshop.writer_helper.main import main


@pytest.fixture
def interfaces(tmp_path):
    """A /sys/class/net with eth0 and lo."""
    folder = tmp_path / "net"
    for name in ("eth0", "lo"):
        (folder / name).mkdir(parents=True)
    return str(folder)


def settings(interfaces, **asked):
    return network.settings(asked.pop("interface", "eth0"), sys_class_net=interfaces, **asked)


def test_a_static_address_with_gateway_and_dns_makes_a_networkd_file(interfaces):
    wanted = settings(interfaces, static="192.0.2.10/24", gateway="192.0.2.1", dns="192.0.2.53, 2001:db8::53")
    assert network.render(wanted).splitlines()[1:] == [
        "[Match]", "Name=eth0", "", "[Network]", "Address=192.0.2.10/24", "Gateway=192.0.2.1", "DNS=192.0.2.53",
        "DNS=2001:db8::53"]


def test_dhcp_makes_a_networkd_file_that_asks_for_it(interfaces):
    assert network.render(settings(interfaces, dhcp=True)).splitlines()[-1] == "DHCP=yes"


@pytest.mark.parametrize("asked, error", [
    ({"static": "192.0.2.10"}, "--static 192.0.2.10: give the prefix length too, e.g. 192.0.2.10/24"),
    ({"static": "192.0.2.300/24"}, "--static 192.0.2.300/24: "),
    ({"static": "192.0.2.0/24"}, "--static 192.0.2.0/24: the network address of 192.0.2.0/24"),
    ({"static": "192.0.2.255/24"}, "--static 192.0.2.255/24: the broadcast address"),
    ({"static": "127.0.0.2/8"}, "--static 127.0.0.2/8: not an address a host can have"),
    ({"static": "192.0.2.10/24", "gateway": "198.51.100.1"}, "--gateway 198.51.100.1: not in 192.0.2.0/24"),
    ({"static": "192.0.2.10/24", "gateway": "192.0.2.10"}, "--gateway 192.0.2.10: the host's own address"),
    ({"static": "192.0.2.10/24", "gateway": "gw"}, "--gateway gw: "),
    ({"static": "192.0.2.10/24", "dns": "192.0.2.53,dns.example"}, "--dns 192.0.2.53,dns.example: "),
    ({"dhcp": True, "gateway": "192.0.2.1"}, "--gateway goes with --static"),
    ({}, "one of --dhcp or --static"),
    ({"interface": "eth9", "dhcp": True}, "--interface eth9: no such interface here (there are: eth0)"),
    ({"interface": "lo", "dhcp": True}, "--interface lo: the loopback"),
    ({"interface": "../eth0", "dhcp": True}, "--interface '../eth0': not an interface name"),
])
def test_a_wrong_argument_is_refused_naming_it(interfaces, asked, error):
    with pytest.raises(network.NetworkError) as raised:
        settings(interfaces, **asked)
    assert str(raised.value).startswith(error) and raised.value.kind == "usage"


def test_a_try_rolled_back_puts_the_previous_file_back_and_leaves_no_record(tmp_path):
    path, run_dir = str(tmp_path / "network" / "10-cardshop-eth0.network"), str(tmp_path / "run")
    os.makedirs(os.path.dirname(path))
    with open(path, "w") as handle:
        handle.write("[Match]\nName=eth0\n[Network]\nDHCP=yes\n")
    attempt = network.Try(path, run_dir)
    attempt.begin("new\n")
    assert open(path).read() == "new\n" and attempt.pending()["previous"].endswith("DHCP=yes\n")
    attempt.roll_back()
    assert open(path).read().endswith("DHCP=yes\n") and os.listdir(run_dir) == []


def test_a_try_of_a_new_file_rolled_back_removes_it_and_a_confirmed_one_stays(tmp_path):
    path, run_dir = str(tmp_path / "10-cardshop-eth0.network"), str(tmp_path / "run")
    attempt = network.Try(path, run_dir)
    attempt.begin("new\n")
    attempt.roll_back()
    assert not os.path.exists(path)
    attempt.begin("new\n")
    assert not attempt.confirmed() and network.confirm(run_dir)  # `network --confirm`, from another shell
    assert attempt.confirmed() and network.wait_for_answer(attempt, 5)
    attempt.keep()
    assert open(path).read() == "new\n" and os.listdir(run_dir) == []


def test_the_try_of_a_killed_process_is_rolled_back_by_the_next_one(tmp_path):
    path, run_dir = str(tmp_path / "10-cardshop-eth0.network"), str(tmp_path / "run")
    network.Try(path, run_dir).begin("first\n")
    record = os.path.join(run_dir, network.TRY_FILE)
    with open(record) as handle:
        text = handle.read()
    with open(record, "w") as handle:  # as left by a process that no longer runs
        handle.write(text.replace(f'"pid": {os.getpid()}', '"pid": 999999999'))
    attempt = network.Try(path, run_dir)
    attempt.begin("second\n")
    assert attempt.previous is None  # what was there before the killed try: nothing
    attempt.roll_back()
    assert not os.path.exists(path)


def test_a_second_try_while_one_waits_is_refused(tmp_path):
    path, run_dir = str(tmp_path / "10-cardshop-eth0.network"), str(tmp_path / "run")
    network.Try(path, run_dir).begin("first\n")
    with pytest.raises(network.NetworkError) as raised:
        network.Try(path, run_dir).begin("second\n")
    assert raised.value.kind == "pending" and open(path).read() == "first\n"


def test_the_cli_says_bad_arguments_with_exit_2_and_confirm_without_a_try_with_1(tmp_path, capsys):
    base = ["--config-dir", str(tmp_path), "--run-dir", str(tmp_path / "run"), "network"]
    here = sorted(name for name in os.listdir("/sys/class/net") if name != "lo")[0]  # one this host has
    assert main([*base, "--interface", here, "--static", "192.0.2.10"]) == 2
    assert "--static 192.0.2.10: give the prefix length" in capsys.readouterr().err
    assert main([*base, "--interface", here, "--dhcp", "--confirm-timeout", "0"]) == 2
    assert main([*base, "--confirm"]) == 1
    assert "no network change waits for its confirmation" in capsys.readouterr().err


@pytest.mark.parametrize("typed, kept", [(b"yes\n", True), (b"YES\n", True), (b"no\n", False), (b"\n", False),
                                         (b"", None)])
def test_the_operator_keeps_a_change_by_typing_yes_and_anything_else_rolls_it_back(tmp_path, typed, kept):
    attempt = network.Try(str(tmp_path / "10-cardshop-eth0.network"), str(tmp_path / "run"))
    attempt.begin("new\n")
    read_end, write_end = os.pipe()
    os.write(write_end, typed)
    if not typed:
        os.close(write_end)  # the terminal gone: no answer, the countdown goes on to its end
    try:
        started = time.monotonic()
        answer = network.wait_for_answer(attempt, 1, read_end)
    finally:
        os.close(read_end)
        if typed:
            os.close(write_end)
    if kept is None:
        assert answer is False and time.monotonic() - started >= 1
    else:
        assert answer is kept and time.monotonic() - started < 1
