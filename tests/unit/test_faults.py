"""Transient or final, decided in one place, from real failures (a closed port, real HTTP errors)."""

import ftplib
import io
import time
import urllib.error
import urllib.request

import pytest

from cardshop import faults
from cardshop.client.warehouse import WarehouseFull
from cardshop.creator import fetch
from cardshop.creator.cache import DownloadError, probe
from devstack.processes import free_port


def refused():
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{free_port()}/x", timeout=2)
    except urllib.error.URLError as exc:
        return exc
    raise AssertionError("something listens on a free port")


def wrapped(inner, outer):
    """`outer` raised while handling `inner`, the way our modules wrap errors (`from None` too)."""
    try:
        try:
            raise inner
        except Exception:
            raise outer from None
    except Exception as exc:
        return exc


def http_error(code):
    return urllib.error.HTTPError("http://h/x", code, "x", {}, io.BytesIO())


@pytest.mark.parametrize("error", [
    ftplib.error_temp("421 try later"), ftplib.error_temp("452 disk full"), ConnectionResetError(),
    TimeoutError(), http_error(503), http_error(502), EOFError()])
def test_dependencies_that_are_away_for_now_are_transient(error):
    assert faults.is_transient(error)


@pytest.mark.parametrize("error", [
    ftplib.error_perm("550 no such file"), ftplib.error_perm("553 not allowed"), http_error(404),
    ValueError("checksum mismatch"), KeyError("x")])
def test_answers_that_will_not_change_are_final(error):
    assert not faults.is_transient(error)


def test_a_refused_connection_is_transient_even_wrapped_from_none():
    error = wrapped(refused(), DownloadError("http://h/x does not answer"))
    assert faults.is_transient(error)
    assert faults.cause(error) == "connection refused"


def test_a_probe_of_a_closed_port_is_transient():
    with pytest.raises(DownloadError) as caught:
        probe(f"http://127.0.0.1:{free_port()}/x", timeout=2, opener=fetch.opener([{"network": "127.0.0.1"}]))
    assert faults.is_transient(caught.value)


def test_retry_gives_up_after_the_window_naming_the_cause_and_how_long():
    said, waited = [], []
    retry = faults.Retry(0.3, say=lambda short, long: said.append(short), wait=waited.append, first=0.1)
    calls = []

    def call():
        calls.append(1)
        time.sleep(0.05)
        raise wrapped(ConnectionRefusedError(111, "Connection refused"), OSError("cannot log in"))

    with pytest.raises(faults.GaveUp) as caught:
        retry(call, "warehouse", "warehouse ftp://127.0.0.1:2199/")
    assert str(caught.value) == "warehouse ftp://127.0.0.1:2199/: connection refused (retried for 0 s)"
    assert said[0].startswith("warehouse unreachable, retry 1 in ")
    assert len(calls) >= 2 and not faults.is_transient(caught.value)


def test_retry_lets_a_final_failure_through_at_once():
    retry = faults.Retry(60, wait=lambda seconds: pytest.fail("waited for a final failure"))
    with pytest.raises(ftplib.error_perm):
        retry(lambda: (_ for _ in ()).throw(ftplib.error_perm("550 no")), "warehouse")


def test_back_off_doubles_up_to_its_ceiling_with_jitter():
    steps = [faults.backoff(attempt, first=2, most=60) for attempt in range(1, 9)]
    assert 1.6 <= steps[0] <= 2.4 and 6.4 <= steps[2] <= 9.6
    assert all(step <= 72 for step in steps) and steps[-1] >= 48


def test_retry_says_what_state_a_failure_reports_with_its_numbers_then_gives_up_naming_them():
    said, calls = [], []

    def call():
        calls.append(1)
        time.sleep(0.05)
        raise wrapped(ftplib.error_temp("452 Warehouse full: needed=734003200 free=52428800. Try later."),
                      WarehouseFull(734003200, 52428800))

    retry = faults.Retry(0.3, say=lambda short, long: said.append((short, long)), wait=lambda seconds: None,
                         first=0.1)
    with pytest.raises(faults.GaveUp) as caught:
        retry(call, "warehouse", "warehouse ftp://127.0.0.1:2199/")
    short, long = said[0]
    assert short.startswith("warehouse full, retry 1 in ")
    assert long.startswith("warehouse ftp://127.0.0.1:2199/ full: 734003200 bytes needed, 52428800 free, retry 1 in ")
    assert str(caught.value).startswith("warehouse ftp://127.0.0.1:2199/ full: 734003200 bytes needed, 52428800 free "
                                        "(retried for ")
    assert len(calls) >= 2 and caught.value.retryable
