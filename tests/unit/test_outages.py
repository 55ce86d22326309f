import pytest

from tests import outages


def test_an_outage_lasts_its_default_unless_the_run_sets_it(monkeypatch):
    monkeypatch.delenv(outages.ENV, raising=False)
    assert outages.length("broker", 30, minimum=20) == 30
    monkeypatch.setenv(outages.ENV, "scheduler=90, broker=45")
    assert outages.length("broker", 30, minimum=20) == 45


def test_an_outage_below_its_tests_minimum_or_a_malformed_setting_is_refused(monkeypatch):
    monkeypatch.setenv(outages.ENV, "monitor_frozen=10")
    with pytest.raises(ValueError, match="monitor_frozen=10 is below that test's minimum of 26 s"):
        outages.length("monitor_frozen", 30, minimum=26)
    monkeypatch.setenv(outages.ENV, "broker")
    with pytest.raises(ValueError, match="name=seconds"):
        outages.length("broker", 30, minimum=20)
