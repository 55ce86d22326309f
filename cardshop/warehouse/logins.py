"""Connections that have not logged in yet: a deadline each, a bounded share per address and overall.

A connection that never logs in costs a thread and one of `max_connections`;
unbounded, a few hundred idle ones hold the warehouse shut for everyone
(421 Too many connections). So:

- a connection has `login_timeout` seconds from its connect to log in, in
  all (commands do not extend it); once logged in, the idle timeout applies;
- at most `per_address` connections from one address, and `total` overall,
  wait for their login at once. New connections are always let in; one
  beyond a bound closes the oldest waiting connection of its own address,
  or, overall, of the address with the most connections waiting. A worker
  logs in within milliseconds of connecting, from an address of its own:
  the connections closed are a flood's own, and the one that has waited
  longest is the least likely to be a worker.

A connection whose password is being checked (with the scheduler, then
pyftpdlib's pause after a failure) is never closed to make room, and a
deadline that passes meanwhile closes it once the check has failed.
"""

import collections
import threading


class WaitingRoom:
    """Who waits to log in, oldest first. Thread-safe: each connection lives in a thread of its own."""

    def __init__(self, total, per_address):
        self.total, self.per_address = total, per_address
        self._lock = threading.Lock()
        self._waiting = {}  # connection -> address, oldest first
        self._checking = set()
        self._overdue = set()  # deadlines that passed while their password was being checked

    def enter(self, connection, address):
        """Let a new connection in; return the waiting ones to close to keep within the bounds."""
        with self._lock:
            self._waiting[connection] = address
            closing = []
            if sum(1 for its in self._waiting.values() if its == address) > self.per_address:
                closing += self._take_oldest([address], connection)
            while len(self._waiting) > self.total:
                taken = self._take_oldest(self._most_waiting_first(), connection)
                if not taken:  # all being checked: they end soon, one way or the other
                    break
                closing += taken
            return closing

    def begin_check(self, connection):
        with self._lock:
            if connection in self._waiting:
                self._checking.add(connection)

    def end_check(self, connection):
        """Its password was refused; True when its deadline passed meanwhile (close it now)."""
        with self._lock:
            self._checking.discard(connection)
            if connection not in self._overdue:
                return False
            self._forget(connection)
            return True

    def deadline_passed(self, connection):
        """True when it is to be closed now; False when it logged in or went, or is being checked (see end_check)."""
        with self._lock:
            if connection not in self._waiting:
                return False
            if connection in self._checking:
                self._overdue.add(connection)
                return False
            self._forget(connection)
            return True

    def leave(self, connection):
        """It logged in or went away (leaving twice is harmless)."""
        with self._lock:
            self._forget(connection)

    def _forget(self, connection):
        self._waiting.pop(connection, None)
        self._checking.discard(connection)
        self._overdue.discard(connection)

    def _most_waiting_first(self):
        """Addresses by how many connections they have waiting, most first (ties: longest waiting first)."""
        counts = collections.Counter(self._waiting.values())
        return sorted(counts, key=lambda address: -counts[address])

    def _take_oldest(self, addresses, newcomer):
        """The oldest waiting connection that may be closed, from the first of `addresses` that has one."""
        for address in addresses:
            for waiting, its in self._waiting.items():
                if its == address and waiting is not newcomer and waiting not in self._checking:
                    self._forget(waiting)
                    return [waiting]
        return []
