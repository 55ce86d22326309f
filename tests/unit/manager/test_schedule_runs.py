"""The schedules page's view of a last run: how long it took, what it said (cut), failed or slow."""

from cardshop.manager.admin import RESULT_SHOWN, last_run


def test_a_run_shows_its_duration_and_summary():
    assert last_run({"every": 60, "last_duration": 0.1234, "last_result": {"deleted": 3}}) == {
        "took": "0.12 s", "result": '{"deleted": 3}', "failed": False, "slow": False}


def test_a_run_longer_than_a_tenth_of_its_period_is_slow_and_an_error_failed():
    run = last_run({"every": 60, "last_duration": 6.5, "last_result": {"error": "AutoReconnect: gone"}})
    assert run["slow"] and run["failed"] and run["took"] == "6.50 s"
    assert not last_run({"crontab": "0 3 * * *", "last_duration": 3600, "last_result": {}})["slow"]


def test_a_long_summary_is_cut_and_a_schedule_never_run_shows_nothing():
    run = last_run({"every": 60, "last_duration": 1, "last_result": {"ids": ["x" * 30] * 20}})
    assert len(run["result"]) == RESULT_SHOWN and run["result"].endswith("…")
    assert last_run({"every": 60}) == {"took": "", "result": "", "failed": False, "slow": False}
    assert last_run({"every": 60, "last_duration": "soon"})["took"] == ""
