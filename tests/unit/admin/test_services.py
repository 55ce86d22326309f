"""Who still uses the old files: a process holding them open is named; systemd is asked only when it can answer."""

import subprocess

import pytest

from cardshop.admin import services


def test_a_process_holding_the_file_open_is_named(tmp_path):
    path = tmp_path / "cardshop.sqlite"
    path.write_bytes(b"")
    with open(path, "rb") as handle:
        holder = subprocess.Popen(["sleep", "30"], stdin=handle)
    try:
        assert (holder.pid, "sleep") in services.holders([str(path)])
        held = rf"process {holder.pid} \(sleep\) has .*cardshop.sqlite open"
        with pytest.raises(services.ServicesRunning, match=held):
            services.check([str(path)], units=())
    finally:
        holder.kill()
        holder.wait()
    assert services.holders([str(path)]) == []


def test_this_process_does_not_count_as_a_holder(tmp_path):
    path = tmp_path / "cardshop.sqlite"
    path.write_bytes(b"")
    with open(path, "rb"):
        assert services.holders([str(path)]) == []
