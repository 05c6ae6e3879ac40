"""A real SMTP server on 127.0.0.1 (aiosmtpd, in a thread of its own) and its mailbox."""

import asyncio
import re
import threading
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.live import free_port

TOKEN = re.compile(r"token=([A-Za-z0-9_-]+)")


class Mailbox:
    """What the server received, by recipient; with a `folder`, each message's text part is
    also written there (`<n>.txt`), for shell scripts to read."""

    def __init__(self, folder: Path | None = None) -> None:
        self.messages: list[EmailMessage] = []
        # The envelope recipients of each message, in the same order.
        self.envelopes: list[list[str]] = []
        self.folder = folder
        # Seconds before each reply to MAIL, RCPT and DATA (a slow server), and the reply to
        # every RCPT instead of accepting it (a server that refuses the recipient).
        self.delay = 0.0
        self.refusal: str | None = None
        self._lock = threading.Lock()

    async def handle_MAIL(  # noqa: N802
        self, _server: Any, _session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.delay)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(  # noqa: N802
        self, _server: Any, _session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        await asyncio.sleep(self.delay)
        if self.refusal is not None:
            return self.refusal
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802
        await asyncio.sleep(self.delay)
        message: EmailMessage = message_from_bytes(envelope.content, policy=default)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append(list(envelope.rcpt_tos))
            if self.folder is not None:
                text = f"To: {message['To']}\nSubject: {message['Subject']}\n\n{text_of(message)}"
                (self.folder / f"{len(self.messages)}.txt").write_text(text)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [message for message in self.messages if message["To"] == address]

    async def wait_for(
        self, address: str, count: int = 1, seconds: float = 10
    ) -> list[EmailMessage]:
        """The first `count` messages to `address`, waiting for them to arrive."""
        async with asyncio.timeout(seconds):
            while len(self.to(address)) < count:  # noqa: ASYNC110 - another thread delivers
                await asyncio.sleep(0.02)
        return self.to(address)[:count]


class SmtpServer:
    def __init__(self, port: int | None = None, folder: Path | None = None):
        self.port = port or free_port()
        self.mailbox = Mailbox(folder)
        self._controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)

    def start(self) -> "SmtpServer":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def token_in(message: EmailMessage) -> str:
    """The token of the link in a mail's text part."""
    found = TOKEN.search(text_of(message))
    assert found, text_of(message)
    return found.group(1)
