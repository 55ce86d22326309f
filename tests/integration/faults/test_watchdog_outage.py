"""The broker away for several watchdog periods: the creator and a writer slot keep pinging systemd's
watchdog while they reconnect, and go on pinging once they are back on the broker."""

import os
import socket
import threading
import time

from devstack import cards
from devstack.processes import wait_until
from devstack.servers import Creator
from tests.integration.scheduler.test_daemon import NotifySocket
from tests.integration.writer.conftest import WriterHost

WATCHDOG_USEC = 8_000_000
DEADLINE = WATCHDOG_USEC / 1e6  # systemd kills a unit silent for this long
OUTAGE = 2 * DEADLINE  # seconds the broker stays stopped: four ping intervals
CONNECTED = "celery.worker.consumer.connection: Connected to"  # each time the consumer (re)connects


class PingClock(NotifySocket):
    """A stand-in notify socket read by a thread of its own, so that each message's arrival time is
    known while the test is busy stopping and starting the broker."""

    def __init__(self, directory):
        os.makedirs(directory, exist_ok=True)
        super().__init__(directory)
        self.times = []
        self.sock.settimeout(0.2)
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while True:
            try:
                message = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            except OSError:
                return  # closed
            self.times.append(time.monotonic())
            self.messages.append(message)

    def env(self, watchdog_usec=WATCHDOG_USEC):
        return {**os.environ, "NOTIFY_SOCKET": self.path, "WATCHDOG_USEC": str(watchdog_usec)}

    def pings(self, since=0.0):
        return [at for at, message in zip(list(self.times), list(self.messages))
                if "WATCHDOG=1" in message and at >= since]

    def longest_silence(self, start, end):
        """The longest time without a WATCHDOG=1 between `start` and `end`."""
        times = [start] + [at for at in self.pings(start) if at <= end] + [end]
        return max(later - earlier for earlier, later in zip(times, times[1:]))

    def close(self):
        self.sock.close()
        self._thread.join(timeout=5)


def log_of(daemon):
    with open(daemon.process.log_path, errors="replace") as handle:
        return handle.read()


def test_workers_ping_the_watchdog_through_a_broker_outage_and_after_it(stack, tmp_path):
    username, _, _ = stack.worker("creator")
    creator = Creator(str(tmp_path), stack.scheduler.url, stack.rabbitmq.url, username,
                      os.path.join(stack.scheduler.secrets, f"{username}.password"), name="watched-creator")
    creator_clock = PingClock(str(tmp_path / "notify-creator"))
    writer_clock = PingClock(str(tmp_path / "notify-writer"))
    host = WriterHost(stack, str(tmp_path), cards.take_readers(1))
    try:
        creator.start(creator_clock.env())
        host.start(writer_clock.env())
        slot = host.slots[0]
        watched = {"creator": (creator, creator_clock), "writer slot": (slot, writer_clock)}
        for daemon, clock in watched.values():
            wait_until(lambda: "READY=1" in " ".join(clock.messages), timeout=10)
            wait_until(clock.pings, timeout=2 * DEADLINE)
            assert log_of(daemon).count(CONNECTED) == 1

        stopped = time.monotonic()
        stack.rabbitmq.stop()
        try:
            time.sleep(OUTAGE)  # the outage itself
        finally:
            stack.rabbitmq.start()
        back = time.monotonic()
        for name, (daemon, clock) in watched.items():
            silence = clock.longest_silence(stopped, back)
            assert silence < DEADLINE, f"the {name} went {silence:.1f} s without WATCHDOG=1 during the outage"

        for name, (daemon, clock) in watched.items():
            wait_until(lambda: log_of(daemon).count(CONNECTED) >= 2, timeout=60)
            reconnected = time.monotonic()
            wait_until(lambda: len(clock.pings(reconnected)) >= 3, timeout=3 * DEADLINE)
            silence = clock.longest_silence(back, clock.pings(reconnected)[-1])
            assert silence < DEADLINE, f"the {name} went {silence:.1f} s without WATCHDOG=1 after the outage"
            assert daemon.process.running(), f"the {name} exited"
    finally:
        host.stop()
        creator.stop()
        creator_clock.close()
        writer_clock.close()
