"""Sending e-mail through the host's MTA or an SMTP relay (stdlib smtplib), and what a failure means.

A reply in the 5xx range is permanent (the address or the message is refused);
4xx replies, refused or lost connections and time-outs are transient, tried
again later (cardshop.notify.send).
"""

import email.message
import email.utils
import hashlib
import smtplib
import socket
import ssl

from cardshop.faults import words


class MailError(Exception):
    """Sending failed; `permanent` when trying again cannot help (a 5xx reply)."""

    def __init__(self, message, permanent=False):
        super().__init__(message)
        self.permanent = permanent


class Settings:
    """The beat's `mail` section, its password read (cardshop.config.rules.mail_settings)."""

    def __init__(self, smtp_host, smtp_port=25, starttls=False, username=None, password=None,
                 sender="cardshop@localhost", manager_url=None, ca_file=None, timeout=30):
        self.smtp_host, self.smtp_port, self.starttls = smtp_host, smtp_port, starttls
        self.username, self.password = username, password
        self.sender, self.manager_url, self.ca_file, self.timeout = sender, manager_url, ca_file, timeout

    def page_url(self, path):
        """The manager's page at `path` ("/orders/<id>"), or "-" when no manager URL is configured."""
        return f"{self.manager_url.rstrip('/')}{path}" if self.manager_url else "-"


def message_id(notification_id, sender):
    """The same Message-ID for every attempt of one notification: a resend after a crash is recognisable."""
    domain = sender.rpartition("@")[2] or "cardshop"
    return f"<{hashlib.sha256(notification_id.encode()).hexdigest()[:32]}@{domain}>"


def build_message(doc, settings):
    """The multipart/alternative (plain text, HTML) message of a notification document."""
    message = email.message.EmailMessage()
    message["Subject"] = doc["subject"]
    message["From"] = settings.sender
    message["To"] = doc["to"]
    message["Date"] = email.utils.format_datetime(doc["created_at"])
    message["Message-ID"] = message_id(doc["_id"], settings.sender)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies
    message.set_content(doc["text"])
    message.add_alternative(doc["html"], subtype="html")
    return message


def _reply(code, text):
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


class Outbox:
    """One SMTP session, opened at the first message and reused for the next ones; a context manager."""

    def __init__(self, settings):
        self.settings = settings
        self._smtp = None

    def __enter__(self):
        return self

    def __exit__(self, *_):
        self.close()

    def close(self):
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None

    def _open(self):
        settings = self.settings
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout)
        try:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context(cafile=settings.ca_file))
            if settings.username:
                smtp.login(settings.username, settings.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message):
        """Hand `message` to the server (accepted, or MailError); the session closes on any error."""
        try:
            if self._smtp is None:
                self._smtp = self._open()
            self._smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            self._drop()
            (code, text), = exc.recipients.values()
            raise MailError(f"recipient refused: {_reply(code, text)}", permanent=code >= 500) from None
        except smtplib.SMTPAuthenticationError as exc:
            self._drop()
            raise MailError(f"the SMTP server refused the login: {_reply(exc.smtp_code, exc.smtp_error)}",
                            permanent=False) from None  # an operator fixes the password; keep the mail
        except smtplib.SMTPResponseException as exc:
            self._drop()
            raise MailError(_reply(exc.smtp_code, exc.smtp_error), permanent=exc.smtp_code >= 500) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            self._drop()
            raise MailError(f"cannot reach the SMTP server {self.settings.smtp_host}:{self.settings.smtp_port}: "
                            f"{words(exc)}") from None

    def _drop(self):
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None
