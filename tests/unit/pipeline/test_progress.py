"""Progress figures that make sense: the words people read, and the rate a step's ticker reports."""

import io
import time

from cardshop.cancellable import CancelToken
from cardshop.pipeline.progress import LiveBlock, bar, duration_text, progress_line
from cardshop.pipeline.reports import MIN_RATE_INTERVAL, Ticker, moving_rate


class Sent:
    """What a Ticker hands its reporter (any object with `progress`, as the writer's SlotReporter is)."""

    def __init__(self):
        self.reports = []

    def progress(self, step, done, total, rate, eta=None):
        self.reports.append({"step": step, "bytes": done, "total": total, "rate": rate, "eta": eta})


def test_progress_reads_as_a_sentence():
    assert progress_line({"step": "downloading", "percent": 42.4, "bytes": 1.2e9, "total": 3e9, "rate": 38e6,
                          "eta": 31}) == "downloading · 42 % · 1.2 GB of 3.0 GB · 38.0 MB/s · 31 s left"
    assert progress_line({"step": "writing", "eta": 3725}).endswith("1 h 2 min left")
    assert duration_text(125) == "2 min 5 s"


def test_a_figure_never_shows_beyond_its_total():
    line = progress_line({"step": "downloading", "percent": 103.5, "bytes": 517.4e6, "total": 500e6})
    assert line == "downloading · 100 % · 517.4 MB"
    assert "of" not in progress_line({"step": "waiting", "bytes": 0, "total": 0, "rate": 0})


def test_a_rate_needs_a_sensible_interval():
    assert moving_rate(5e9, 0.002) == 0.0
    assert moving_rate(5e9, MIN_RATE_INTERVAL * 2) == 2.5e9 / MIN_RATE_INTERVAL


def test_bytes_moved_before_the_ticker_are_not_its_speed():
    # An upload's second, tiny file: 5 GB were sent before it, and it ends at once.
    sent = Sent()
    ticker = Ticker(sent, "uploading", CancelToken(), offset=5_000_000_000, total=5_000_001_000)
    ticker(1000, 1000)
    assert sent.reports == [{"step": "uploading", "bytes": 5_000_001_000, "total": 5_000_001_000, "rate": 0.0,
                             "eta": None}]


def test_a_resumed_download_counts_only_what_it_moves():
    sent = Sent()
    ticker = Ticker(sent, "downloading", CancelToken(), interval=0)
    ticker(900_000_000, 1_000_000_000)  # the .part already held 900 MB
    time.sleep(MIN_RATE_INTERVAL + 0.1)
    ticker(950_000_000, 1_000_000_000)
    last = sent.reports[-1]
    assert 0 < last["rate"] <= 50_000_000 / MIN_RATE_INTERVAL
    assert last["eta"] > 0


def test_a_live_block_is_redrawn_over_itself_and_cut_to_the_terminals_width(monkeypatch):
    monkeypatch.setenv("COLUMNS", "20")
    out = io.StringIO()
    live = LiveBlock(out)
    live.draw(["order 1: writing", "  task " + "x" * 40])
    live.draw(["order 1: pending_shipment", "  task done"])
    first, second = out.getvalue().split("\x1b[2F")
    assert first == "\x1b[J" + "order 1: writing\n" + "  task " + "x" * 12 + "\n"  # 19 columns: no wrap
    assert second == "\x1b[J" + "order 1: pending_sh\n" + "  task done\n"


def test_a_bar_fills_with_the_percent_and_stays_in_bounds():
    assert bar(45) == "[" + "#" * 9 + " " * 11 + "]"
    assert bar(250) == "[" + "#" * 20 + "]" and bar(-3) == bar(None) == "[" + " " * 20 + "]"
