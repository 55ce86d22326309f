"""A state machine as data: (status, event) -> next status."""


class IllegalTransition(Exception):
    """An event that the current status does not allow."""

    def __init__(self, machine, status, event):
        self.machine, self.status, self.event = machine, status, event
        super().__init__(f"{machine} in status {status!r} does not allow {event!r}")


class Machine:
    """A named transition table.

    `final` statuses have no way out. `failed` statuses end the work too but an
    admin may still retry or cancel from them. `queued` statuses wait for a
    worker like the initial one (nobody holds the task).
    """

    def __init__(self, name, initial, transitions, final, failed=(), queued=()):
        self.name = name
        self.initial = initial
        self.queued = frozenset({initial, *queued})
        self.transitions = dict(transitions)
        self.final = frozenset(final)
        self.failed = frozenset(failed)
        self.statuses = frozenset({initial} | {s for s, _ in self.transitions}
                                  | set(self.transitions.values()))
        self.events = frozenset(event for _, event in self.transitions)
        for status, _ in self.transitions:
            if status in self.final:
                raise ValueError(f"{name}: final status {status!r} has a way out")

    @property
    def ended(self):
        """Statuses in which no work goes on any more."""
        return self.final | self.failed

    @property
    def working(self):
        """Statuses in which a worker holds the task: not queued, not ended."""
        return self.statuses - self.queued - self.ended

    def allows(self, status, event):
        return (status, event) in self.transitions

    def allowed(self, status):
        """Events the status allows, sorted."""
        return sorted(event for (source, event) in self.transitions if source == status)

    def apply(self, status, event):
        """The status after `event`, or IllegalTransition."""
        try:
            return self.transitions[(status, event)]
        except KeyError:
            raise IllegalTransition(self.name, status, event) from None
