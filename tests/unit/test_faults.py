"""Transient or final, decided in one place, from real failures (a closed port, real HTTP errors)."""

import ftplib
import io
import threading
import time
import urllib.error
import urllib.request

import pytest

from cardshop import faults
from cardshop.cancellable import Canceled, CancelToken
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


class NeverWait:
    def wait(self, seconds):
        pytest.fail("waited for a final failure")


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
    said = []
    retry = faults.Retry(0.3, say=lambda short, long: said.append(short), first=0.1)
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
    retry = faults.Retry(60, stop=NeverWait())
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

    retry = faults.Retry(0.3, say=lambda short, long: said.append((short, long)), first=0.1)
    with pytest.raises(faults.GaveUp) as caught:
        retry(call, "warehouse", "warehouse ftp://127.0.0.1:2199/")
    short, long = said[0]
    assert short.startswith("warehouse full, retry 1 in ")
    assert long.startswith("warehouse ftp://127.0.0.1:2199/ full: 734003200 bytes needed, 52428800 free, retry 1 in ")
    assert str(caught.value).startswith("warehouse ftp://127.0.0.1:2199/ full: 734003200 bytes needed, 52428800 free "
                                        "(retried for ")
    assert len(calls) >= 2 and caught.value.retryable


def test_each_wait_is_drawn_within_its_step_plus_or_minus_the_jitter_and_stays_under_the_ceiling():
    for _ in range(200):
        waits = faults.Backoff(first=1, most=8)
        delays = [waits.next() for _ in range(6)]
        for delay, step in zip(delays, (1, 2, 4, 8, 8, 8)):
            assert step * (1 - faults.JITTER) <= delay <= step * (1 + faults.JITTER)
    assert len({faults.Backoff(first=1).next() for _ in range(20)}) > 1, "clients do not come back in step"


def test_retries_are_counted_once_from_one_after_a_reset():
    waits = faults.Backoff(first=0.01)
    counted = []
    for _ in range(3):
        waits.next()
        counted.append(waits.attempt)
    assert counted == [1, 2, 3]
    waits.reset()
    assert waits.attempt == 0 and waits.next() <= 0.01 * (1 + faults.JITTER) and waits.attempt == 1


@pytest.mark.parametrize("make_stop, stop", [(threading.Event, lambda event: event.set()),
                                             (CancelToken, lambda token: token.cancel("order canceled"))])
def test_a_stop_ends_a_long_wait_at_once(make_stop, stop):
    signal = make_stop()
    waits = faults.Backoff(first=30, stop=signal)
    threading.Timer(0.05, stop, (signal,)).start()
    started = time.monotonic()
    assert waits.wait() is True
    assert time.monotonic() - started < 0.15


def test_a_wait_that_ends_unstopped_says_so():
    assert faults.Backoff(first=0.01).wait() is False


def test_no_wait_runs_past_the_window_and_the_window_is_over_once_spent():
    waits = faults.Backoff(first=10, window=0.2)
    assert not waits.over
    assert waits.next() <= 0.2
    assert waits.wait() is False and waits.over
    assert waits.next() == 0


def test_a_cancel_during_a_retry_wait_raises_canceled_with_its_reason_at_once():
    token = CancelToken()
    retry = faults.Retry(600, say=lambda short, long: None, stop=token, first=30)
    threading.Timer(0.05, token.cancel, ("order canceled",)).start()
    started = time.monotonic()
    with pytest.raises(Canceled, match="order canceled"):
        retry(lambda: (_ for _ in ()).throw(ConnectionRefusedError(111, "Connection refused")), "warehouse")
    assert time.monotonic() - started < 0.15


def test_retry_numbers_its_retries_one_by_one_and_calls_once_more_than_it_retried():
    said, calls = [], []

    def call():
        calls.append(1)
        if len(calls) <= 3:
            raise ConnectionResetError(104, "Connection reset by peer")
        return "uploaded"

    retry = faults.Retry(60, say=lambda short, long: said.append(short), first=0.01)
    assert retry(call, "warehouse") == "uploaded"
    assert [short.split(", ")[1].split(" in ")[0] for short in said] == ["retry 1", "retry 2", "retry 3"]
    assert len(calls) == 4


def test_one_wording_for_every_failure_and_none_echoes_an_http_server():
    import http.client
    import urllib.error
    evil = "<script>steal()</script>"
    assert faults.words(http.client.BadStatusLine(evil)) == "not a valid HTTP reply (BadStatusLine)"
    assert faults.words(urllib.error.HTTPError("http://x/", 503, evil, {}, None)) == "HTTP 503"
    assert faults.words(urllib.error.URLError(ConnectionRefusedError(111, "Connection refused"))) == \
        "connection refused"
    assert faults.words(urllib.error.URLError("no host given")) == "unreachable"
    assert faults.words(http.client.IncompleteRead(b"partial")) == "connection lost"
    # cause() words the root of a chain the same way.
    try:
        try:
            raise http.client.BadStatusLine(evil)
        except http.client.HTTPException as exc:
            raise RuntimeError("fetch failed") from exc
    except RuntimeError as error:
        assert faults.cause(error) == "not a valid HTTP reply (BadStatusLine)"
