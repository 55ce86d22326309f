"""The monitor under a fleet's heartbeats: its CPU, its queues, how fast it applies them.

SLOTS writer slots on SLOTS / SLOTS_PER_HOST writer hosts (one writer account each, its slots registered
as an operator registers them) heartbeat through RabbitMQ as cardshop-writer does: each slot's real
`Heartbeat` sends the payload of writer/worker.py's `slot_state` over a real `Slot`; an idle slot every
15 s (the Heartbeat's interval), a busy one at each progress tick, at most once a second (the Nudger's
gap), and every state change at once. A busy slot ends its job after JOB_SECONDS (done, card removed,
a new card checked, ready) while a ready slot of the same sender takes a new task, so the busy share
stays as asked and state changes flow along with the refreshes.

The monitor is devstack's (a real cardshop-monitor process on a FerretDB 2.7/DocumentDB of its own):
its CPU is read from /proc/<pid>/stat, the queues' depth from passive declares of every account's
reports queue and of `reports`. Then the monitor is stopped, DRAIN_PER_SLOT heartbeats a slot are
published, and the monitor started again: the time it takes to empty the queues is its rate.

    python -m bench.heartbeats [--slots N] [--busy F] [--seconds S]   (2,000 slots in `make bench-scale`)
"""

import argparse
import concurrent.futures
import datetime
import heapq
import os
import random
import sys
import threading
import time

import pymongo
from pymongo import UpdateOne, monitoring

from cardshop.pipeline import topology
from cardshop.pipeline.celery_app import make_celery
from cardshop.pipeline.heartbeat import Heartbeat
from cardshop.store import new_id
from cardshop.writer.card import Card
from cardshop.writer.slot import Slot
from cardshop.writer.run import NUDGE_GAP, heartbeat_fields
from bench.database import percentile
from cardshop.manager.overview import HOSTS_PER_PAGE
from devstack.processes import wait_until
from tests.integration.conftest import register_slots

SLOTS = 500  # make bench; make bench-scale runs 2,000
BUSY = 0.10
SECONDS = 45  # measured, after the warm-up
WARM_UP = 16  # every slot has sent its first heartbeat (they start spread over one interval)
SLOTS_PER_HOST = 10
SENDERS = 4  # threads publishing (each publish waits for the broker's confirm)
INTERVAL = 15  # seconds between an idle slot's heartbeats (Heartbeat's default)
JOB_SECONDS = 120
DRAIN_PER_SLOT = 10
DRAINED = "drained"  # the image the last heartbeat of each slot names in the backlog
SAMPLE_EVERY = 3.0
CPU_GOAL = 25.0  # per cent of one core
QUEUE_GOAL = 1000
WORKERS_GOAL_MS = 200.0
IMAGES = [f"image-{n}" for n in range(3)]
BULK = 300  # records in the bulk_write figure: about what 2,000 slots refresh in a second


class FleetSlot:
    """One simulated writer@N: a real Slot and its real Heartbeat; `act` does what is due and says when next."""

    def __init__(self, app, username, host, number):
        self.slot = Slot(number, f"/dev/bench-{host}-{number}")
        self.images = IMAGES
        self.heartbeat = Heartbeat(app, username, f"{host}.slot-{number}",
                                   lambda: heartbeat_fields(self.slot, self.images), interval=INTERVAL)
        self.card(number)
        self.phase, self.job_started = "ready", 0.0

    def card(self, number):
        self.slot.move("checking")
        self.slot.card = Card(self.slot.device, 32 * 10 ** 9, f"BENCH-{number}-{random.randrange(10 ** 6)}")
        self.slot.move("ready")

    def start_job(self, now):
        self.slot.move("busy")
        self.slot.progress("downloading", 0.0, 0.0, task=new_id(), order=new_id())
        self.phase, self.job_started = "busy", now
        return now + NUDGE_GAP

    def act(self, now):
        """Send what is due; (when to come back, True when the slot's job just ended)."""
        if self.phase == "busy":
            done = (now - self.job_started) / JOB_SECONDS
            if done >= 1:
                self.slot.move("done")
                self.phase = "done"
                return now + 5, True
            self.slot.progress("writing" if done < 0.8 else "verifying", 100 * done, 25e6)
            return now + NUDGE_GAP, False
        if self.phase == "done":  # the operator takes the card out...
            self.slot.move("empty")
            self.phase = "empty"
            return now + 2, False
        if self.phase == "empty":  # ...and puts a blank one in, which the slot checks
            self.slot.move("checking")
            self.phase = "checking"
            return now + 3, False
        if self.phase == "checking":
            self.card(self.slot.number)
            self.phase = "ready"
        return now + INTERVAL, False


class Sender(threading.Thread):
    """Drives its share of the slots: each heartbeat sent when due, as its writer@N would send it."""

    def __init__(self, slots, busy):
        super().__init__(name="bench-sender", daemon=True)
        self.slots, self.busy = slots, busy
        self.stop = threading.Event()
        self.sent = self.failed = 0

    def send(self, fleet_slot):
        try:
            fleet_slot.heartbeat.send()
            self.sent += 1
        except Exception:  # the broker is away or refused: counted, as the writer would log it
            self.failed += 1

    def run(self):
        now = time.monotonic()
        due = []
        for index, fleet_slot in enumerate(self.slots):
            if index < self.busy:
                fleet_slot.start_job(now - random.uniform(0, JOB_SECONDS))  # jobs at every stage
            heapq.heappush(due, (now + random.uniform(0, INTERVAL), index))
        while not self.stop.is_set():
            when, index = due[0]
            if when > time.monotonic():
                self.stop.wait(min(0.05, when - time.monotonic()))
                continue
            heapq.heappop(due)
            fleet_slot = self.slots[index]
            after, ended = fleet_slot.act(time.monotonic())
            self.send(fleet_slot)
            heapq.heappush(due, (after, index))
            if ended:  # a ready slot takes the next task: as many stay busy
                ready = [i for i, other in enumerate(self.slots) if other.phase == "ready"]
                if ready:
                    taker = random.choice(ready)
                    self.slots[taker].start_job(time.monotonic())
                    self.send(self.slots[taker])
                    due = [(when, i) if i != taker else (time.monotonic() + NUDGE_GAP, i) for when, i in due]
                    heapq.heapify(due)

    def burst(self, rounds):
        """`rounds` heartbeats from each of these slots, in turn, as fast as the broker confirms them;
        in the last, each slot says it holds one more image (a change: written at once, and observable)."""
        for turn in range(rounds):
            for fleet_slot in self.slots:
                if turn == rounds - 1:
                    fleet_slot.images = IMAGES + [DRAINED]
                self.send(fleet_slot)


class WorkersLister(threading.Thread):
    """An operator's manager fleet page, again and again: GET /workers?per_page=HOSTS_PER_PAGE, timed."""

    def __init__(self, api):
        super().__init__(daemon=True)
        self.api, self.stop, self.times, self.errors = api, threading.Event(), [], 0

    def run(self):
        while not self.stop.is_set():
            started = time.perf_counter()
            try:
                ok = self.api.get(f"/workers?per_page={HOSTS_PER_PAGE}").status == 200
            except Exception:  # the API slow or away: counted, as an error
                ok = False
            if ok:
                self.times.append(time.perf_counter() - started)
            else:
                self.errors += 1
            self.stop.wait(0.5)


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:"))


def cpu_seconds(pid):
    """User + system CPU seconds of process `pid` so far (/proc/<pid>/stat)."""
    with open(f"/proc/{pid}/stat") as handle:
        fields = handle.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Queues:
    """The depth (ready messages) of the `reports` queue and of every account's reports queue."""

    def __init__(self, pipe, usernames):
        self.app = make_celery({"url": pipe.rabbitmq.url, "username": "cardshop-system",
                                "password_file": pipe.system_password_file, "heartbeat": 10}, "bench-queues")
        self.names = ["reports"] + [topology.account_queues(name)[0].name for name in usernames]

    def depth(self):
        with self.app.connection_for_read() as connection:
            channel = connection.default_channel
            return sum(channel.queue_declare(name, passive=True).message_count for name in self.names)


def fleet_accounts(pipe, hosts):
    """`hosts` writer accounts, each with its host's slots registered: [(username, host, app)]."""
    def account(index):
        username, host = f"hb{index}x{os.getpid() % 1000}", f"rack-{index}"
        _, path = pipe.scheduler.worker_user(username, "writer", password=f"{username} password")
        register_slots(pipe.admin, username, host, range(1, SLOTS_PER_HOST + 1))
        app = make_celery({"url": pipe.rabbitmq.url, "username": username, "password_file": path,
                           "heartbeat": 10}, f"bench-{username}")
        pipe.wait_for_account(app, username, timeout=120)
        return username, host, app

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(account, range(hosts)))


class Commands(monitoring.CommandListener):
    """The commands a client sends (one each a round trip), by name."""

    def __init__(self):
        self.names = []

    def started(self, event):
        self.names.append(event.command_name)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def bulk_against_single(url, report, count=BULK):
    """`count` worker records refreshed one update_one each, then in one bulk_write (how the monitor writes
    refreshes), on the bench's database: round trips counted by pymongo's command monitoring."""
    commands = Commands()
    client = pymongo.MongoClient(url, tz_aware=True, event_listeners=[commands])
    try:
        collection = client["bench"]["bench_workers"]
        names = [f"bench{n}@rack.slot-{n % 8 + 1}" for n in range(count)]
        collection.insert_many([{"_id": name, "online": True, "version": 0} for name in names])

        def fields(turn):
            return {"last_seen": datetime.datetime.now(datetime.timezone.utc), "slot": {"percent": turn}}
        single, bulk = [], []
        for turn in range(3):
            commands.names.clear()
            started = time.perf_counter()
            for name in names:
                collection.update_one({"_id": name}, {"$set": fields(turn), "$inc": {"version": 1}})
            single.append(time.perf_counter() - started)
            single_commands = len(commands.names)
            commands.names.clear()
            started = time.perf_counter()
            collection.bulk_write([UpdateOne({"_id": name}, {"$set": fields(turn), "$inc": {"version": 1}})
                                   for name in names], ordered=False)
            bulk.append(time.perf_counter() - started)
            bulk_commands = len(commands.names)
        collection.drop()
    finally:
        client.close()
    best_single, best_bulk = min(single), min(bulk)
    report(f"heartbeats: {count} worker records refreshed in one bulk_write vs one update_one each",
           f"bulk_write {best_bulk * 1000:.0f} ms in {bulk_commands} command(s) ({best_bulk / count * 1000:.2f} ms a "
           f"record); update_one {best_single * 1000:.0f} ms in {single_commands} commands "
           f"({best_single / count * 1000:.2f} ms a record); best of 3", best_single / best_bulk, 2.0,
           "ratio = update_one time / bulk_write time")


def measure(pipe, db, report, slots=SLOTS, busy=BUSY, seconds=SECONDS):
    hosts = -(-slots // SLOTS_PER_HOST)
    started = time.monotonic()
    accounts = fleet_accounts(pipe, hosts)
    fleet = [FleetSlot(app, username, host, number) for username, host, app in accounts
             for number in range(1, SLOTS_PER_HOST + 1)][:slots]
    shares = [fleet[n::SENDERS] for n in range(SENDERS)]
    busy_count = round(busy * slots)
    senders = [Sender(share, busy_count // SENDERS + (n < busy_count % SENDERS)) for n, share in enumerate(shares)]
    queues = Queues(pipe, [username for username, _, _ in accounts])
    print(f"heartbeats: {slots:,} slots on {hosts} writer hosts ready in {time.monotonic() - started:.0f} s; "
          f"{busy_count} busy; warming up {WARM_UP} s, then measuring {seconds} s", flush=True)
    beat = pipe.start_beat()  # its jobs read the fleet's records too (move_offline_writers, expire_workers)
    daemons = {"monitor": pipe.monitor.process.pid, "scheduler": pipe.scheduler.process.pid,
               "beat": beat.process.pid}
    idle_rss = {name: rss_mib(pid) for name, pid in daemons.items()}
    for sender in senders:
        sender.start()
    time.sleep(WARM_UP)
    pid = pipe.monitor.process.pid
    samples = []  # (monotonic, monitor CPU seconds, queued messages, heartbeats sent)
    lists = WorkersLister(pipe.admin)
    lists.start()
    end = time.monotonic() + seconds
    while True:
        samples.append((time.monotonic(), cpu_seconds(pid), queues.depth(), sum(s.sent for s in senders)))
        if time.monotonic() >= end:
            break
        time.sleep(SAMPLE_EVERY)
    loaded_rss = {name: rss_mib(pid) for name, pid in daemons.items()}
    beat.stop()
    lists.stop.set()
    lists.join()
    for sender in senders:
        sender.stop.set()
    for sender in senders:
        sender.join()
    elapsed = samples[-1][0] - samples[0][0]
    cpu = 100 * (samples[-1][1] - samples[0][1]) / elapsed
    offered = (samples[-1][3] - samples[0][3]) / elapsed
    depths = [sample[2] for sample in samples]
    third = max(1, len(depths) // 3)
    early, late = sum(depths[:third]) / third, sum(depths[-third:]) / third
    growing = late > early + 100
    failed = sum(s.failed for s in senders)
    report(f"heartbeats: monitor CPU, {slots:,} slots {busy:.0%} busy ({offered:.0f} heartbeats/s offered)",
           f"{cpu:.1f} % of one core over {elapsed:.0f} s; goal <= {CPU_GOAL:g} %"
           + (f"; {failed} heartbeats not sent" if failed else ""),
           CPU_GOAL / max(cpu, 0.1), 1.0, f"ratio = {CPU_GOAL:g} % / measured")
    report(f"heartbeats: queued reports, {slots:,} slots {busy:.0%} busy",
           f"at most {max(depths):,} (first third of the run {early:.0f} on average, last third {late:.0f}: "
           f"{'growing' if growing else 'not growing'}); goal <= {QUEUE_GOAL:,} and not growing; "
           f"samples {', '.join(str(d) for d in depths)}",
           0.0 if growing else QUEUE_GOAL / max(max(depths), 1), 1.0, f"ratio = {QUEUE_GOAL:,} / the most queued")

    p95 = percentile(lists.times, 0.95) if lists.times else float("inf")
    report(f"heartbeats: GET /workers?per_page={HOSTS_PER_PAGE} (the manager's fleet page) meanwhile, "
           f"{slots:,} slots {busy:.0%} busy",
           f"p95 {p95 * 1000:.0f} ms over {len(lists.times)} calls ({lists.errors} errors); goal <= "
           f"{WORKERS_GOAL_MS:.0f} ms", 0.0 if lists.errors else WORKERS_GOAL_MS / 1000 / max(p95, 1e-6), 1.0,
           f"ratio = {WORKERS_GOAL_MS:.0f} ms / p95")
    print("heartbeats: memory (RSS) " + "; ".join(f"{name} {idle_rss[name]:.0f} MiB at idle, {loaded_rss[name]:.0f} "
                                                  "MiB under the fleet" for name in daemons) + "\n", flush=True)

    # The rate: a backlog applied by a monitor that was away, until the last heartbeat of every slot is in.
    pipe.monitor.stop()
    threads = [threading.Thread(target=sender.burst, args=(DRAIN_PER_SLOT,)) for sender in senders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    backlog = queues.depth()
    started = time.monotonic()
    pipe.monitor.start()
    start_up = time.monotonic() - started
    wait_until(lambda: db.workers.count_documents({"images": DRAINED}) >= slots, timeout=900, interval=0.2)
    took = time.monotonic() - started
    rate = backlog / max(took - start_up, 0.1)  # it consumes nothing before it says it is ready
    report(f"heartbeats: applied by a monitor coming back to a backlog, {slots:,} worker records",
           f"{backlog:,} heartbeats ({DRAIN_PER_SLOT} a slot, the last a change) in {took:.1f} s, of which the "
           f"monitor's start-up {start_up:.1f} s: {rate:.0f}/s (the fleet above offers {offered:.0f}/s; on "
           "FerretDB 1.24 the monitor applied 35/s with 500 records, 14/s with 2,000)",
           rate / max(offered, 1), 4.0, "ratio = applied / offered; goal: room for four times the fleet")


def run(report, slots=SLOTS, busy=BUSY, seconds=SECONDS):
    from bench.pipeline import stack
    with stack() as (_, pipe, db):
        bulk_against_single(pipe.ferretdb.url, report)
        measure(pipe, db, report, slots, busy, seconds)


def main():
    """`python -m bench.heartbeats`: these figures alone."""
    from bench.__main__ import failures, report
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=SLOTS,
                        help=f"writer slots (default {SLOTS:,}; make bench-scale: 2,000)")
    parser.add_argument("--busy", type=float, default=BUSY, help=f"share of busy slots (default {BUSY})")
    parser.add_argument("--seconds", type=int, default=SECONDS,
                        help=f"seconds measured after the warm-up (default {SECONDS}; make bench-scale: 300)")
    args = parser.parse_args()
    run(report, args.slots, args.busy, args.seconds)
    print(f"\n{len(failures)} goal(s) missed" + (": " + "; ".join(failures) if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
