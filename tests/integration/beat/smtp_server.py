"""A real SMTP server on loopback for the notification tests (aiosmtpd, Debian's python3-aiosmtpd)."""

import email
import email.policy
import threading

from aiosmtpd.controller import Controller

from devstack.processes import free_port


class Mailbox:
    """What the server received, and the replies it gives instead of accepting (by recipient)."""

    def __init__(self):
        self.messages = []
        self.refuse = {}  # address -> SMTP reply, e.g. "550 5.1.1 no such user"
        self.attempts = {}  # address -> RCPT commands seen
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        with self._lock:
            self.attempts[address] = self.attempts.get(address, 0) + 1
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"

    def to(self, address):
        """The messages received for `address`."""
        with self._lock:
            return [message for recipients, message in self.messages if address in recipients]


class SmtpServer:
    """aiosmtpd on 127.0.0.1, stopped and started again on the same port."""

    def __init__(self):
        self.port = free_port()
        self.mailbox = Mailbox()
        self._controller = None

    def start(self):
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
