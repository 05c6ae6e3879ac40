"""The background task of each process that drains the mail outbox."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import aiosmtplib
import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.mail import MailSender
from app.core.metrics import Metrics
from app.core.models import utcnow
from app.core.request import Clock
from app.core.tasks import running
from app.mail.dependencies import build_outbox_service
from app.mail.models import OutboxMessage
from app.mail.service import OutboxService, Outcome, as_message

logger = structlog.get_logger(__name__)


class OutboxWorker:
    """Claims due messages one at a time, sends each outside any transaction, and records
    the outcome; sleeps `OUTBOX_POLL_INTERVAL` between passes unless woken by a request that
    queued mail."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        sender: MailSender,
        settings: Settings,
        metrics: Metrics,
        clock: Clock = utcnow,
    ):
        self.sessionmaker = sessionmaker
        self.sender = sender
        self.settings = settings
        self.metrics = metrics
        self.clock = clock
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.deliver_due()
            except (SQLAlchemyError, OSError) as error:
                logger.warning("outbox_unavailable", error=type(error).__name__)
            # Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives
            # with a wake-up, and the app's shutdown then waits for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.outbox_poll_interval):
                    await self._wake.wait()

    async def deliver_due(self) -> int:
        """Deliver every message due now; how many were tried."""
        tried = 0
        while (message := await self._claim()) is not None:
            tried += 1
            error = await self._send(message)
            async with self.sessionmaker.begin() as session:
                outcome = await self._service(session).record(message, error)
            self._count(message, outcome, error)
        return tried

    async def _claim(self) -> OutboxMessage | None:
        async with self.sessionmaker.begin() as session:
            return await self._service(session).claim()

    async def _send(self, message: OutboxMessage) -> str | None:
        try:
            await self.sender.send(as_message(message))
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            return f"{type(error).__name__}: {error}"
        return None

    def _service(self, session: AsyncSession) -> OutboxService:
        return build_outbox_service(session, self.settings, self.clock)

    def _count(self, message: OutboxMessage, outcome: Outcome, error: str | None) -> None:
        if outcome is Outcome.SENT:
            self.metrics.mail_sent.inc()
            return
        self.metrics.mail_failures.inc()
        event = "mail_given_up" if outcome is Outcome.GIVEN_UP else "mail_send_failed"
        logger.warning(event, message_id=str(message.id), attempts=message.attempts, error=error)
        if outcome is Outcome.GIVEN_UP:
            self.metrics.mail_given_up.inc()


@contextlib.asynccontextmanager
async def running_outbox(
    sessionmaker: async_sessionmaker[AsyncSession],
    sender: MailSender,
    settings: Settings,
    metrics: Metrics,
) -> AsyncIterator[OutboxWorker]:
    """The process's outbox worker for as long as the app runs (idle with
    `OUTBOX_WORKER=false`: then another process delivers)."""
    worker = OutboxWorker(sessionmaker, sender, settings, metrics)
    if not settings.outbox_worker:
        yield worker
        return
    async with running(worker.run(), "mail-outbox"):
        yield worker
