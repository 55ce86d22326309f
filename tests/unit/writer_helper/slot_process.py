"""A slot process for status --watch's tests: slot 3's real Slot and StateFile (cardshop/writer), driven by lines
on stdin instead of a card and a task. Its command line names `cardshop-writer --slot 3`, as the helper
checks of a slot running without systemd.

    python -m tests.unit.writer_helper.slot_process cardshop-writer --slot 3 RUN_DIR

stdin: `progress STEP PERCENT RATE DONE TOTAL ETA` or `move STATE [MESSAGE]`; it prints `ok` after each.
"""

import sys

from cardshop.writer.state_file import StateFile
from cardshop.writer.worker import ConsumerGate
from tests.unit.writer.conftest import slot_in


def main():
    slot = slot_in("busy")
    slot.progress("received", task="a" * 24, order="b" * 24)
    state_file = StateFile(slot, ConsumerGate(slot, "write.writ1"), sys.argv[-1])
    slot.listeners.append(state_file.changed)
    state_file.start()
    print("ok", flush=True)
    try:
        for line in sys.stdin:
            word, *rest = line.split(maxsplit=1)
            if word == "progress":
                step, percent, rate, done, total, eta = rest[0].split()
                slot.progress(step, float(percent), float(rate), done=int(done), total=int(total), eta=float(eta))
            elif word == "move":
                state, _, message = rest[0].strip().partition(" ")
                slot.move(state, message)
            print("ok", flush=True)
    finally:
        state_file.stop()


if __name__ == "__main__":
    main()
