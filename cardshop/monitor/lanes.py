"""Reports applied by a few threads at once: one task's in the order they came, different tasks side by side.

Applying a report costs database round trips (and, for a create task's
`done`, a look into the warehouse); one at a time, the monitor would wait on
each. The consumer thread hands each report to the lane of its task (a hash
of the task id): a lane applies its reports one after the other, so a task's
reports keep their order, and the lanes work side by side.

The broker's channel belongs to the consumer thread: a lane never acknowledges
a message. What it applied comes back through `finished()`, and the consumer
thread acknowledges, requeues or drops the messages. `wait_for(sender)` lets
the consumer thread keep a sender's order across kinds of messages (a slot's
heartbeat after the report its slot sent before it).
"""

import collections
import logging
import queue
import threading

log = logging.getLogger(__name__)


class Lanes:
    def __init__(self, count, work):
        """`count` threads calling `work(job)` (which must not raise) for the jobs handed to them."""
        self.work = work
        self._queues = [queue.SimpleQueue() for _ in range(count)]
        self._finished = queue.SimpleQueue()
        self._outstanding = collections.Counter()  # sender -> jobs handed in, not applied yet
        self._changed = threading.Condition()
        self._threads = [threading.Thread(target=self._run, args=(lane,), name=f"lane-{number}", daemon=True)
                         for number, lane in enumerate(self._queues, 1)]
        for thread in self._threads:
            thread.start()

    def submit(self, key, sender, job):
        """Apply `job` in the lane of `key` (a task id), after the jobs handed in before with that key."""
        with self._changed:
            self._outstanding[sender] += 1
        self._queues[hash(key) % len(self._queues)].put((sender, job))

    def finished(self):
        """The (job, outcome) pairs applied since the last call, in the order they finished."""
        done = []
        while True:
            try:
                done.append(self._finished.get_nowait())
            except queue.Empty:
                return done

    def pending(self):
        """How many jobs are handed in and not applied yet."""
        with self._changed:
            return sum(self._outstanding.values())

    def wait_for(self, sender=None, timeout=None):
        """Whether every job `sender` (None: anyone) handed in is applied, waiting up to `timeout` s for it."""
        def done():
            return not (self._outstanding[sender] if sender is not None else sum(self._outstanding.values()))
        with self._changed:
            return self._changed.wait_for(done, timeout)

    def stop(self, timeout=5):
        """End the threads once the jobs handed in are applied (at most `timeout` s each)."""
        for lane in self._queues:
            lane.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def _run(self, lane):
        while True:
            item = lane.get()
            if item is None:
                return
            sender, job = item
            try:
                outcome = self.work(job)
            except BaseException:  # `work` catches what it expects: this is a bug, and the lane goes on
                log.exception("a report's lane failed")
                outcome = None
            self._finished.put((job, outcome))
            with self._changed:
                self._outstanding[sender] -= 1
                if not self._outstanding[sender]:
                    del self._outstanding[sender]
                self._changed.notify_all()
