"""A real SMTP server on loopback for the notification tests (aiosmtpd, Debian's python3-aiosmtpd)."""

import email
import email.policy
import ssl
import threading

import aiosmtpd
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from devstack.processes import free_port


class _StartTlsSMTP(SMTP):
    """aiosmtpd before 1.4.4 (Debian 12 has 1.4.3) hangs in STARTTLS on Python 3.11 and later: its own
    handshake drives asyncio's SSL protocol by hand. This upgrades with asyncio's public loop.start_tls,
    then lets aiosmtpd's connection_made do the rest of what its STARTTLS does (fresh session, TLS state)."""

    async def smtp_STARTTLS(self, arg):
        if arg or not self.tls_context:
            return await super().smtp_STARTTLS(arg)
        self.transport.pause_reading()  # the client's hello must reach the TLS layer, not our plain reader
        await self.push("220 Ready to start TLS")
        self._original_transport = self.transport
        secured = await self.loop.start_tls(self.transport, self, self.tls_context, server_side=True)
        self._tls_protocol = secured._ssl_protocol
        self.connection_made(secured)


class _Controller(Controller):
    def factory(self):
        return _StartTlsSMTP(self.handler, **self.SMTP_kwargs)


OLD_STARTTLS = tuple(int(part) for part in aiosmtpd.__version__.split(".")[:3]) < (1, 4, 4)


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
    """aiosmtpd on 127.0.0.1, stopped and started again on the same port.

    With `tls` ({"cert_file", "key_file"}) and `login` ((username, password)), it is a relay as a provider
    runs one: STARTTLS required before anything, and a login before mail."""

    def __init__(self, tls=None, login=None):
        self.port = free_port()
        self.mailbox = Mailbox()
        self.tls, self.login = tls, login
        self._controller = None

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        given = (auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=given == self.login, handled=False)  # aiosmtpd answers 235 or 535

    def start(self):
        options = {}
        if self.tls:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.tls["cert_file"], self.tls["key_file"])
            options.update(tls_context=context, require_starttls=True)
        if self.login:
            options.update(auth_required=True, auth_require_tls=True, authenticator=self._authenticate)
        controller = _Controller if self.tls and OLD_STARTTLS else Controller
        self._controller = controller(self.mailbox, hostname="127.0.0.1", port=self.port, **options)
        self._controller.start()
        return self

    def stop(self):
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
