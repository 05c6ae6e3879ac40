"""Mail: messages rendered from Jinja2 templates, and the senders that deliver them (SMTP, or
the console in development). Requests never send: they queue messages in the outbox, each
with a job that delivers it (`app.mail.jobs`)."""

import asyncio
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from functools import lru_cache
from typing import Any, Protocol

import aiosmtplib
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from app.core.config import Settings
from app.core.models import utcnow


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    html: str
    # Stable across retries (the outbox row's id), so receivers can drop a duplicate.
    key: str | None = None


class UndeliverableAddressError(ValueError):
    """An address mail cannot go to as it is written (see `survives_headers`): trying again
    would fail again, and sending anyway could reach someone else."""


def survives_headers(address: str) -> bool:
    """Whether the mail library puts exactly `address` in a `To` header and reads exactly it
    back: an RFC 2047 encoded word (`=?utf-8?q?…?=`) in the local part is decoded into another
    address, or none, or a CR/LF. Addresses that fail this are refused at the edge."""
    if "=?" in address:
        return False
    email = EmailMessage()
    try:
        email["To"] = address
        parsed = [each.addr_spec for each in email["To"].addresses]
    except (ValueError, IndexError, TypeError):
        return False
    return parsed == [address]


def masked(address: str) -> str:
    """`j***@example.com`: enough for an operator to tell recipients apart in a log."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}" if local else "***"


class MailSender(Protocol):
    async def send(self, message: Message) -> None: ...


class SmtpSender:
    """Delivers through the SMTP server of the settings (aiosmtplib)."""

    def __init__(self, settings: Settings):
        self.settings = settings

    async def send(self, message: Message) -> None:
        """Raises `TimeoutError` when the whole exchange takes longer than `SMTP_TIMEOUT` (each
        reply is bounded by it too): a claimed message's lease outlasts any send."""
        settings = self.settings
        password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
        # Addresses are checked at the edge; rows stored before that may hold one that the
        # mail library would decode into another mailbox, in the header and the envelope.
        if not survives_headers(message.to):
            raise UndeliverableAddressError("mail would not reach the address as written")
        async with asyncio.timeout(settings.smtp_timeout):
            await aiosmtplib.send(
                _email(message, settings.email_from),
                recipients=[message.to],
                hostname=settings.smtp_host,
                port=settings.smtp_port,
                username=settings.smtp_username,
                password=password,
                start_tls=settings.smtp_starttls,
                timeout=settings.smtp_timeout,
            )


class ConsoleSender:
    """Prints each message's headers and text part to stdout, never into the structured log
    (development). Not the MIME form: quoted-printable would break the links' tokens across
    lines."""

    def __init__(self, settings: Settings):
        self.sender = settings.email_from

    async def send(self, message: Message) -> None:
        printed = (
            f"From: {self.sender}\nTo: {message.to}\nSubject: {message.subject}\n\n"
            f"{message.text.rstrip()}\n\n(and an HTML part of {len(message.html)} characters)\n"
        )
        print(printed, file=sys.stdout, flush=True)


def create_sender(settings: Settings) -> MailSender:
    return SmtpSender(settings) if settings.email_backend == "smtp" else ConsoleSender(settings)


class MailTemplates:
    """`<name>.subject.txt`, `<name>.txt` and `<name>.html` in a feature's `templates` folder,
    rendered with the app's `public_url` and the given values."""

    def __init__(self, package: str, settings: Settings):
        self.public_url = settings.public_url.rstrip("/")
        self.environment = _environment(package)

    def render(self, name: str, to: str, **values: Any) -> Message:
        values = {"public_url": self.public_url, **values}
        subject = self.environment.get_template(f"{name}.subject.txt").render(values).strip()
        text = self.environment.get_template(f"{name}.txt").render(values)
        html = self.environment.get_template(f"{name}.html").render(values)
        return Message(to=to, subject=subject, text=text, html=html)


@lru_cache
def _environment(package: str) -> Environment:
    """One per package for the process: services are built per request, and an environment
    compiles each template once."""
    return Environment(
        loader=PackageLoader(package, "templates"),
        undefined=StrictUndefined,
        autoescape=select_autoescape(["html"]),
        keep_trailing_newline=True,
    )


def _email(message: Message, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    # RFC 5322 §3.6: the origination date and a unique id; RFC 3834 §5: sent by a machine,
    # so vacation responders stay quiet.
    email["Date"] = format_datetime(utcnow())
    domain = email["From"].addresses[0].domain or None
    email["Message-ID"] = f"<{message.key}@{domain}>" if message.key else make_msgid(domain=domain)
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(message.text)
    email.add_alternative(message.html, subtype="html")
    return email
