"""status --watch: one line per slot, live, from the slots' own state files (written here by the real Slot and
StateFile, in a process the helper takes for slot 3's writer)."""

import json
import os
import pty
import queue
import signal
import subprocess
import sys
import threading
import time

import pytest

from devstack.servers import REPO
from tests.unit.writer_helper.conftest import host_folders

pytestmark = pytest.mark.skipif(os.path.isdir("/run/systemd/system"), reason="slots run without systemd here")

HELPER = os.path.join(REPO, "daemons", "cardshop-writer-helper")
WRITING = "writing · 42 % · 840.0 MB of 2.0 GB · 38.0 MB/s · 22 s left"


@pytest.fixture
def host(tmp_path):
    """Slots 1 and 3 in slots.yaml; slot 3 runs (its state under run/), slot 1 does not."""
    arguments, run_dir = host_folders(tmp_path, (1, 3))
    slot = subprocess.Popen([sys.executable, "-m", "tests.unit.writer_helper.slot_process", "cardshop-writer",
                             "--slot", "3", run_dir], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=REPO, env={**os.environ, "PYTHONPATH": REPO})
    assert slot.stdout.readline() == "ok\n"

    def tell(line):
        slot.stdin.write(line + "\n")
        slot.stdin.flush()
        assert slot.stdout.readline() == "ok\n"
    host = type("Host", (), {})()
    host.tell = tell
    host.command = [sys.executable, HELPER, *arguments, "status", "--watch", "--interval", "0.1"]
    yield host
    slot.stdin.close()
    slot.wait(timeout=10)


def reader(stream):
    """Chunks of `stream` (text or a pty's bytes) on a queue, None at its end."""
    chunks = queue.Queue()

    def pump():
        while True:
            try:
                chunk = os.read(stream, 4096) if isinstance(stream, int) else stream.readline()
            except OSError:  # the pty's other side closed
                chunk = b""
            if not chunk:
                chunks.put(None)
                return
            chunks.put(chunk.decode() if isinstance(chunk, bytes) else chunk)
    threading.Thread(target=pump, daemon=True).start()
    return chunks


def until(chunks, seen, predicate, timeout=15):
    """Read on until predicate(all text so far); the text."""
    deadline = time.monotonic() + timeout
    while not predicate(seen[0]):
        chunk = chunks.get(timeout=max(0.1, deadline - time.monotonic()))
        assert chunk is not None and time.monotonic() < deadline, f"never came; got:\n{seen[0]}"
        seen[0] += chunk
    return seen[0]


def blocks(text):
    """The blocks a non-terminal watch printed, each its slot lines by slot number."""
    found = []
    for block in text.split("-- ")[1:]:
        rows = [line.split() for line in block.splitlines()[2:]]
        found.append({int(row[0]): " ".join(row[1:]) for row in rows})
    return found


def test_watch_into_a_pipe_prints_a_new_block_per_change_and_ends_on_ctrl_c_with_0(host):
    watch = subprocess.Popen(host.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    chunks, seen = reader(watch.stdout), [""]
    try:
        until(chunks, seen, lambda text: "busy" in text and text.endswith("\n"))
        first = blocks(seen[0])[-1]
        assert first[1] == "stopped - - not running (no writer process)"
        assert first[3] == f"busy {'b' * 24} 2.0 GB received"
        host.tell("progress writing 42.0 38e6 840000000 2000000000 22.1")
        until(chunks, seen, lambda text: WRITING in text)
        host.tell("move done")
        until(chunks, seen, lambda text: "remove the card" in text)
        time.sleep(0.5)  # five more looks, nothing changed: no new block
        watch.send_signal(signal.SIGINT)
        out, err = watch.communicate(timeout=10)
    finally:
        watch.kill()
    assert watch.returncode == 0, err
    seen[0] += out
    states = [block[3] for block in blocks(seen[0])]
    assert states == [f"busy {'b' * 24} 2.0 GB received", f"busy {'b' * 24} 2.0 GB {WRITING}",
                      "done - 2.0 GB remove the card: it is written"]  # the card is still in
    assert seen[0].splitlines()[1].split() == ["SLOT", "STATE", "ORDER", "CARD", "DOING"]


def test_watch_on_a_terminal_redraws_its_lines_in_place(host):
    main, other = pty.openpty()
    # a wide terminal: lines are cut to its width
    watch = subprocess.Popen(host.command, stdout=other, stderr=subprocess.PIPE, cwd=REPO,
                             env={**os.environ, "COLUMNS": "250"})
    os.close(other)
    chunks, seen = reader(main), [""]
    try:
        until(chunks, seen, lambda text: text.count("SLOT") >= 2)  # drawn twice
        host.tell("progress writing 42.0 38e6 840000000 2000000000 22.1")
        text = until(chunks, seen, lambda text: WRITING in text)
        watch.send_signal(signal.SIGINT)
        assert watch.wait(timeout=10) == 0, watch.stderr.read()
    finally:
        watch.kill()
        os.close(main)
    # Each redraw goes back up over the block (header, column titles, 2 slots) and erases it.
    assert "\x1b[4F\x1b[J" in text
    assert text.count("\x1b[4F\x1b[J") == text.count("SLOT") - 1


def test_watch_json_prints_one_document_per_change(host):
    watch = subprocess.Popen([*host.command, "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=REPO)
    chunks, seen = reader(watch.stdout), [""]
    try:
        until(chunks, seen, lambda text: text.endswith("\n"))
        host.tell("progress writing 42.0 38e6 840000000 2000000000 22.1")
        until(chunks, seen, lambda text: text.count("\n") >= 2)
        watch.send_signal(signal.SIGINT)
        out, _ = watch.communicate(timeout=10)
    finally:
        watch.kill()
    documents = [json.loads(line) for line in (seen[0] + out).splitlines()]
    assert watch.returncode == 0
    assert documents[0]["slots"][1]["state"]["progress"] is None
    assert documents[1]["slots"][1]["state"]["progress"] == {"percent": 42.0, "bytes": 840000000,
                                                             "total": 2000000000, "rate": 38e6, "eta": 22.1}


def test_watch_refuses_an_interval_that_is_not_above_0(host):
    result = subprocess.run([*host.command, "--interval", "0"], capture_output=True, text=True, cwd=REPO,
                            timeout=30)
    assert result.returncode == 2 and "--interval 0: must be" in result.stderr
