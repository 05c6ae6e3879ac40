"""The background task of each process that drains the mail outbox."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

import aiosmtplib
import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.metrics import Metrics
from app.core.models import utcnow
from app.core.request import Clock
from app.core.tasks import running
from app.mail.dependencies import build_outbox_service
from app.mail.models import OutboxMessage
from app.mail.sender import MailSender, Message, UndeliverableAddressError, masked
from app.mail.service import Failure, OutboxService, Outcome, as_message

logger = structlog.get_logger(__name__)

# Writes, in the worker's unit of work, the mail queued for `recipient`; None: none is due.
Composer = Callable[[AsyncSession, str], Awaitable[Message | None]]


class OutboxWorker:
    """Claims due messages one at a time, sends each outside any transaction, and records
    the outcome; sleeps `OUTBOX_POLL_INTERVAL` between passes unless woken by a request that
    queued mail. Nothing a message does ends the loop: any failure is recorded against that
    message (retried, or given up), and a failing pass is logged, counted and tried again."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: MailSender,
        settings: Settings,
        metrics: Metrics,
        clock: Clock = utcnow,
        composers: Mapping[str, Composer] | None = None,
    ):
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self.composers = composers or {}
        self._wake = asyncio.Event()
        self._running = False
        # When the loop last showed it was alive (`time.monotonic()`).
        self.last_beat = time.monotonic()

    def wake(self) -> None:
        self._wake.set()

    async def woken(self, _queued: set[object]) -> None:
        """The `WAKE_OUTBOX` hook: a unit of work that queued mail committed."""
        self.wake()

    def stalled(self) -> bool:
        """Running but silent for longer than a pass can take (readiness reports it)."""
        bound = self.settings.outbox_poll_interval + 2 * self.settings.smtp_timeout + 30
        return not self._running or time.monotonic() - self.last_beat > bound

    async def run(self) -> None:
        self._running = True
        try:
            while True:
                self._wake.clear()
                try:
                    await self.deliver_due()
                except Exception as error:  # the database, or a bug: the next pass retries
                    self.metrics.mail_outbox_errors.inc()
                    logger.warning("outbox_unavailable", error=type(error).__name__)
                self.last_beat = time.monotonic()
                # Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that
                # arrives with a wake-up, and the app's shutdown then waits for this loop.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self.settings.outbox_poll_interval):
                        await self._wake.wait()
        finally:
            self._running = False

    async def deliver_due(self) -> int:
        """Deliver every message due now; how many were tried."""
        tried = 0
        while (message := await self._claim()) is not None:
            tried += 1
            self.last_beat = time.monotonic()
            try:
                if message.composer is not None and not await self._compose(message):
                    continue  # its composer found nothing to send
                await self.sender.send(as_message(message))
                failure = None
            except Exception as error:  # it counts against this message, never the loop
                failure = _failure(error, message.recipient)
            async with self.sessionmaker.begin() as session:
                outcome = await self._service(session).record(message, failure)
            self._count(message, outcome, failure)
        return tried

    async def _claim(self) -> OutboxMessage | None:
        async with self.sessionmaker.begin() as session:
            return await self._service(session).claim()

    async def _compose(self, message: OutboxMessage) -> bool:
        """Write the mail before sending it, committed first: the token in its link exists
        when the mail arrives, and a retry sends the same mail."""
        composer = self.composers.get(message.composer or "")
        if composer is None:
            raise LookupError(f"no composer {message.composer!r} in this process")
        async with self.sessionmaker.begin() as session:
            composed = await composer(session, message.recipient)
            await self._service(session).composed(message, composed)
        if composed is None:
            return False
        message.recipient, message.subject = composed.to, composed.subject
        message.text_body, message.html_body = composed.text, composed.html
        return True

    def _service(self, session: AsyncSession) -> OutboxService:
        return build_outbox_service(session, self.settings, self.clock)

    def _count(self, message: OutboxMessage, outcome: Outcome, failure: Failure | None) -> None:
        if outcome is Outcome.SENT:
            self.metrics.mail_sent.inc()
            return
        self.metrics.mail_failures.inc()
        event = "mail_given_up" if outcome is Outcome.GIVEN_UP else "mail_send_failed"
        logger.warning(
            event,
            message_id=str(message.id),
            recipient=masked(message.recipient),
            attempts=message.attempts,
            error=failure.error if failure else None,
        )
        if outcome is Outcome.GIVEN_UP:
            self.metrics.mail_given_up.inc()


def _failure(error: Exception, recipient: str) -> Failure:
    # Servers echo the recipient in their replies; logs and records show it masked.
    described = f"{type(error).__name__}: {error}".replace(recipient, masked(recipient))
    return Failure(described, permanent=_permanent(error))


def _permanent(error: Exception) -> bool:
    """A 5xx reply (RFC 5321 §4.2.1: permanent negative completion) will not change on retry,
    nor will an address mail cannot go to."""
    if isinstance(error, UndeliverableAddressError):
        return True
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(500 <= each.code < 600 for each in error.recipients)
    return isinstance(error, aiosmtplib.SMTPResponseException) and 500 <= error.code < 600


@contextlib.asynccontextmanager
async def running_outbox(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: MailSender,
    settings: Settings,
    metrics: Metrics,
    composers: Mapping[str, Composer] | None = None,
) -> AsyncIterator[OutboxWorker]:
    """The process's outbox worker for as long as the app runs (idle with
    `OUTBOX_WORKER=false`: then another process delivers)."""
    worker = OutboxWorker(sessionmaker, sender, settings, metrics, composers=composers)
    if not settings.outbox_worker:
        yield worker
        return
    async with running(worker.run(), "mail-outbox"):
        yield worker
