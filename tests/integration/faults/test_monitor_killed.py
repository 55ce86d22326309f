"""A monitor killed with -9 loses at most a second of `last_seen` refreshes, and nothing else.

Refresh-only heartbeats are acknowledged when they wait in the monitor's memory for the next bulk write
(at most one a second); state changes and reports only once written.
"""

import threading
import time

from cardshop.pipeline.heartbeat import Heartbeat
from cardshop.store import new_id
from devstack.processes import wait_until
from tests.integration.conftest import dropped, register_slots
from tests.integration.pipeline.test_monitor_heartbeats import busy_slot


class Beating(threading.Thread):
    """A slot's progress heartbeats, ten a second, until stopped."""

    def __init__(self, beat, state):
        super().__init__(daemon=True)
        self.beat, self.state = beat, state
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.state["slot"]["percent"] = round(self.state["slot"]["percent"] + 0.1, 1)
            self.beat.send()
            self.stop.wait(0.1)


def test_a_monitor_killed_with_9_leaves_records_at_most_a_second_stale_and_loses_no_state_change(stack, db):
    username, _, app = stack.worker("writer")
    register_slots(stack.admin, username, "rack", [1, 2])
    busy, idle = busy_slot(0.0, new_id(), new_id()), busy_slot(None, None, None)
    idle["slot"].update(number=2, state="ready", task=None, order=None, step=None, rate=None)
    idle["active"] = 0
    one, two = Heartbeat(app, username, "rack.slot-1", lambda: busy), Heartbeat(app, username, "rack.slot-2", lambda: idle)
    one.send()
    two.send()
    wait_until(lambda: db.workers.count_documents({"username": username}) == 2, timeout=30)
    drops = dropped(db)

    beating = Beating(one, busy)
    beating.start()
    try:
        time.sleep(3)
        idle["slot"].update(state="busy", task=new_id(), order=new_id(), step="downloading", percent=0.0)
        idle["active"] = 1
        two.send()  # a state change, sent just before the kill
        time.sleep(0.5)
        killed = time.time()
        stack.monitor.process.kill9()
    finally:
        beating.stop.set()
        beating.join()
    try:
        records = {doc["_id"]: doc for doc in db.workers.find({"username": username})}
        slot_one, slot_two = records[f"{username}@rack.slot-1"], records[f"{username}@rack.slot-2"]
        stale = killed - slot_one["last_seen"].timestamp()
        print(f"figure: after kill -9 the busy slot's record was {stale:.2f} s stale "
              f"({slot_one['version']} writes for {busy['slot']['percent'] * 10:.0f} heartbeats)")
        assert stale <= 1.6  # a bulk write a second, the monitor's loop, the write itself
        assert slot_one["version"] <= 8  # 3.5 s of ten heartbeats a second: coalesced
        assert slot_two["slot"]["state"] == "busy"  # the state change was written before it was acknowledged
    finally:
        stack.monitor.start()

    # The refreshes lost with the monitor are said again by the slot's next heartbeat; nothing was dropped.
    busy["slot"]["percent"] = 99.0
    one.send()
    wait_until(lambda: db.workers.find_one({"_id": f"{username}@rack.slot-1"})["slot"]["percent"] == 99.0,
               timeout=30)
    assert db.workers.find_one({"_id": f"{username}@rack.slot-2"})["slot"]["task"] == idle["slot"]["task"]
    assert dropped(db) == drops
