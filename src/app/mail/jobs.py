"""`mail.deliver`: the job queued with each outbox row, which sends it outside any transaction
and records the outcome."""

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import aiosmtplib
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.metrics import Metrics
from app.jobs.definitions import Abandon, JobContext, JobType, Retry
from app.mail.models import OutboxMessage
from app.mail.schemas import MailDelivery
from app.mail.sender import MailSender, Message, UndeliverableAddressError, masked
from app.mail.service import Failure, OutboxService, Outcome, as_message

logger = structlog.get_logger(__name__)

# Writes, in the job's unit of work, the mail queued for `recipient`; None: none is due.
Composer = Callable[[AsyncSession, str], Awaitable[Message | None]]
# The outbox in a unit of work of a running job.
OutboxBuilder = Callable[[AsyncSession, JobContext], OutboxService]


class MailNotSentError(Exception):
    """A try to deliver a mail failed; it is tried again."""


@dataclass(frozen=True)
class Postman:
    """What a process needs to deliver mail (a worker's resource): the sender, the composers
    of the mail written when due, and the metrics."""

    sender: MailSender
    metrics: Metrics
    outbox: OutboxBuilder
    composers: Mapping[str, Composer] = dataclasses.field(default_factory=dict)

    async def deliver(self, delivery: MailDelivery, context: JobContext) -> None:
        """Raises when the try failed (after recording it on the row): the job is retried,
        or dead after its last attempt, or at once when the refusal is for good."""
        async with context.sessionmaker() as session:
            message = await self.outbox(session, context).get(delivery.message_id)
        if message is None or message.failed_at is not None:
            return  # sent by a try whose outcome was lost, or given up
        try:
            if message.composer is not None and not await self._compose(message, context):
                return  # its composer found nothing to send
            await self.sender.send(as_message(message))
        except Exception as error:  # it counts against this message (and its job)
            failure = _failure(error, message.recipient)
            await self._record(message, failure, context)
            # The job's record shows the error as the outbox's does: the recipient masked.
            if failure.permanent:
                raise Abandon(failure.error) from error
            raise MailNotSentError(failure.error) from error
        await self._record(message, None, context)

    async def _compose(self, message: OutboxMessage, context: JobContext) -> bool:
        """Write the mail before sending it, committed first: the token in its link exists
        when the mail arrives, and a retry sends the same mail."""
        composer = self.composers.get(message.composer or "")
        if composer is None:
            raise LookupError(f"no composer {message.composer!r} in this process")
        async with context.sessionmaker.begin() as session:
            composed = await composer(session, message.recipient)
            await self.outbox(session, context).composed(message, composed)
        if composed is None:
            return False
        message.recipient, message.subject = composed.to, composed.subject
        message.text_body, message.html_body = composed.text, composed.html
        return True

    async def _record(
        self, message: OutboxMessage, failure: Failure | None, context: JobContext
    ) -> None:
        async with context.sessionmaker.begin() as session:
            outcome = await self.outbox(session, context).record(
                message, failure, attempt=context.attempt, last_try=context.last_try
            )
        if outcome is Outcome.SENT:
            self.metrics.mail_sent.inc()
            return
        self.metrics.mail_failures.inc()
        logger.warning(
            "mail_given_up" if outcome is Outcome.GIVEN_UP else "mail_send_failed",
            message_id=str(message.id),
            recipient=masked(message.recipient),
            attempts=context.attempt,
            error=failure.error if failure else None,
        )
        if outcome is Outcome.GIVEN_UP:
            self.metrics.mail_given_up.inc()


async def _deliver(delivery: MailDelivery, context: JobContext) -> None:
    await context.resource(Postman).deliver(delivery, context)


MAIL_DELIVERY = JobType(name="mail.deliver", payload=MailDelivery, run=_deliver, queue="mail")


def mail_delivery(settings: Settings) -> JobType[MailDelivery]:
    """`MAIL_DELIVERY` as the settings configure it: OUTBOX_MAX_ATTEMPTS tries, the first retry
    after OUTBOX_RETRY_DELAY, doubling (with jitter); each try bounded beyond SMTP_TIMEOUT,
    which bounds a whole SMTP exchange."""
    return dataclasses.replace(
        MAIL_DELIVERY,
        max_attempts=settings.outbox_max_attempts,
        retry=Retry(base=settings.outbox_retry_delay, cap=3600.0),
        timeout=settings.smtp_timeout + 30,
    )


def _failure(error: Exception, recipient: str) -> Failure:
    """What the logs and the records show: the mail server's reply with the recipient masked
    (servers echo it); of other errors (composing: the database) only the kind, as their text
    may carry a statement's parameters."""
    described = type(error).__name__
    if isinstance(error, aiosmtplib.SMTPException | OSError | UndeliverableAddressError):
        described = f"{described}: {error}".replace(recipient, masked(recipient))
    return Failure(described, permanent=_permanent(error))


def _permanent(error: Exception) -> bool:
    """A 5xx reply (RFC 5321 §4.2.1: permanent negative completion) will not change on retry,
    nor will an address mail cannot go to."""
    if isinstance(error, UndeliverableAddressError):
        return True
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return bool(error.recipients) and all(500 <= each.code < 600 for each in error.recipients)
    return isinstance(error, aiosmtplib.SMTPResponseException) and 500 <= error.code < 600
