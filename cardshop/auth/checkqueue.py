"""The one queue every password check waits in, fair to clients and accounts.

bcrypt is slow on purpose, so checks run a few at a time (`slots`). When a
check that found the slot taken was answered "busy" at once, whoever sent
the most checks held the slot: one address guessing, or the broker relaying
a flood of wrong AMQP passwords, made nearly every other login fail. Waiting
in a short, fair queue shares the slot instead:

- Each check waits in the lane of its client: the client's address, or for
  the broker (which sends no client address with a login) the account, so
  each worker account is a client of its own and a flood for one account
  never holds up another's. Lanes take turns (round robin); within a lane,
  first come first served. A flood only lengthens its own lane.
- A client whose check failed, or was turned away by a bound below, within
  `failure_window` seconds is failing:
  its checks wait and run apart, in slots of their own, and the caller runs
  them at the lowest CPU priority (passwords.py), so guesses use only idle CPU
  and never hold the slot a clean client's check waits for. A user can
  always log in from an address that has not failed, whoever floods. Checks
  that waited as clean move to the failing ones as soon as their client
  fails (a flood's first guesses all arrive before the first has failed). When
  the queue is full, a check of a clean client takes the place of the newest
  check of a failing one.
- Bounds: `per_client` waiting checks per lane and `per_account` per account
  among failing clients (many addresses guessing one account) are refused
  with TooManyWaiting; `size` waiting checks in all (keep it below the
  server's threads: a waiting check holds one) and `max_wait` seconds are
  refused with Busy. The API answers these 429 and 503 with Retry-After, the
  broker's route answers deny.
"""

import collections
import threading
import time

MAX_REMEMBERED = 10000  # failing clients remembered; bounds memory under a flood of addresses


class Busy(Exception):
    """No password check could be made in time; the caller should come back shortly."""

    def __init__(self, retry_after=1, why="too many password checks waiting"):
        self.retry_after = retry_after
        super().__init__(f"{why}; try again in {retry_after} s")


class TooManyWaiting(Busy):
    """This client (or account) already has its share of checks waiting."""


class _Waiter:
    __slots__ = ("lane", "account", "clean", "event", "turn")

    def __init__(self, lane, account, clean):
        self.lane, self.account, self.clean = lane, account, clean
        self.event = threading.Event()
        self.turn = None  # True: given a slot; False: refused to make room


class CheckQueue:
    def __init__(self, slots=1, size=6, per_client=2, per_account=4, max_wait=5.0, failure_window=900):
        self.slots = slots
        self.size = size
        self.per_client = per_client
        self.per_account = per_account
        self.max_wait = max_wait
        self.failure_window = failure_window
        # [clean, failing]: slots not running a check (never above 0 while a check of that kind waits),
        # and lane -> deque of waiters, the dict's order being the turn order
        self._free = [slots, slots]
        self._lanes = ({}, {})
        self._waiting = 0
        self._failing_accounts = collections.Counter()
        self._failed = {}  # lane -> monotonic time of its last failed check, oldest first
        self._lock = threading.Lock()

    def run(self, lane, account, check):
        """`check(clean)`'s result, run in a slot once the checks ahead of it have had theirs.

        `clean` is False for a failing client. A false result, or Busy, marks
        `lane` as failing. Raises TooManyWaiting or Busy when the check gets no place in
        the queue or no slot within `max_wait`.
        """
        try:
            clean, waiter = self._enter(lane, account)
            if waiter is not None:
                if not waiter.event.wait(self.max_wait):
                    self._give_up(waiter)
                if not waiter.turn:
                    raise Busy()
                clean = waiter.clean  # its lane may have failed while it waited
        except Busy:
            self._mark_failing(lane)  # turned away, it is part of a flood: else a flood of fresh addresses stays clean
            raise
        try:
            right = check(clean)
            if not right:
                self._mark_failing(lane)  # before the slot is handed on: the lane's waiting checks are not given it
        finally:
            self._release(clean)
        return right

    def admit(self, lane, account):
        """Raise what run() would raise at once for a check of `lane` now (marking it failing as run() does),
        so that a caller can turn a flood away before it reads anything for the check."""
        with self._lock:
            clean = not self._failing(lane)
            refusal = None if self._free[0 if clean else 1] else self._refusal(lane, account, clean)
        if refusal is not None:
            self._mark_failing(lane)
            raise refusal

    def _refusal(self, lane, account, clean):
        """The exception for a check that finds no free slot and may not wait; None when it may."""
        if len(self._lanes[0 if clean else 1].get(lane, ())) >= self.per_client:
            return TooManyWaiting(why="too many password checks waiting for this client")
        if not clean and self._failing_accounts[account] >= self.per_account:
            return TooManyWaiting(why="too many password checks waiting for this account")
        if self._waiting >= self.size and not (clean and self._lanes[1]):
            return Busy()
        return None

    def _enter(self, lane, account):
        """(clean?, None) when a slot is free now, else (clean?, the waiter queued for one)."""
        with self._lock:
            clean = not self._failing(lane)
            kind = 0 if clean else 1
            if self._free[kind]:
                self._free[kind] -= 1
                return clean, None
            lanes = self._lanes[kind]
            refusal = self._refusal(lane, account, clean)
            if refusal is not None:
                raise refusal
            if self._waiting >= self.size:  # a clean client's check takes the place of a failing one's
                newest = self._lanes[1][next(reversed(self._lanes[1]))][-1]
                self._remove(newest)
                newest.turn = False
                newest.event.set()
            waiter = _Waiter(lane, account, clean)
            lanes.setdefault(lane, collections.deque()).append(waiter)
            self._waiting += 1
            if not clean:
                self._failing_accounts[account] += 1
            return clean, waiter

    def _remove(self, waiter):
        lanes = self._lanes[0 if waiter.clean else 1]
        queue = lanes[waiter.lane]
        queue.remove(waiter)
        if not queue:
            del lanes[waiter.lane]
        self._waiting -= 1
        if not waiter.clean:
            self._failing_accounts[waiter.account] -= 1
            if not self._failing_accounts[waiter.account]:
                del self._failing_accounts[waiter.account]

    def _give_up(self, waiter):
        with self._lock:
            if waiter.turn is None:  # not given a slot just after the wait ran out
                self._remove(waiter)

    def _release(self, clean):
        """Hand the slot to the next waiter of the same kind, lanes in turn."""
        kind = 0 if clean else 1
        with self._lock:
            if self._lanes[kind]:
                self._start_next(kind)
            else:
                self._free[kind] += 1

    def _start_next(self, kind):
        lanes = self._lanes[kind]
        waiter = lanes[next(iter(lanes))][0]
        self._remove(waiter)
        queue = lanes.pop(waiter.lane, None)
        if queue:
            lanes[waiter.lane] = queue  # to the back: the other lanes go first
        waiter.turn = True
        waiter.event.set()

    def _demote(self, lane):
        """The checks of `lane` that waited as clean wait with the failing ones: a flood's first guesses all
        arrive before the first of them has failed, and would otherwise hold the clean slot for seconds."""
        queue = self._lanes[0].pop(lane, None)
        if not queue:
            return
        for waiter in queue:
            waiter.clean = False
            self._failing_accounts[waiter.account] += 1
        self._lanes[1].setdefault(lane, collections.deque()).extend(queue)
        while self._free[1] and self._lanes[1]:
            self._free[1] -= 1
            self._start_next(1)

    def _failing(self, lane):
        failed = self._failed.get(lane)
        return failed is not None and time.monotonic() - failed < self.failure_window

    def _mark_failing(self, lane):
        moment = time.monotonic()
        with self._lock:
            self._failed.pop(lane, None)
            self._failed[lane] = moment
            self._demote(lane)
            while len(self._failed) > MAX_REMEMBERED or (
                    moment - next(iter(self._failed.values())) >= self.failure_window):
                del self._failed[next(iter(self._failed))]
