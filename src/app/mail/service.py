import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

import structlog

from app.core.metrics import Metrics
from app.core.ratelimit import RateLimiter
from app.core.request import Clock
from app.jobs.definitions import JobType
from app.jobs.service import JobService
from app.mail.models import OutboxMessage
from app.mail.repository import OutboxRepository
from app.mail.schemas import MailDelivery
from app.mail.sender import Message, masked

logger = structlog.get_logger(__name__)


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"
    GIVEN_UP = "given_up"


@dataclass(frozen=True)
class Failure:
    """Why a try failed; a permanent one (an SMTP 5xx refusal) is not tried again."""

    error: str
    permanent: bool = False


@dataclass(frozen=True)
class RecipientLimit:
    """Mails any one address may be sent (`rule` in the `limits` notation; empty is off)."""

    limiter: RateLimiter
    rule: str
    metrics: Metrics

    async def allows(self, recipient: str) -> bool:
        if await self.limiter.allows(self.rule, f"mail:to:{recipient}"):
            return True
        self.metrics.mail_dropped.inc()
        logger.info("mail_dropped", recipient=masked(recipient), reason="recipient_limit")
        return False


class OutboxService:
    """Mail queued with the unit of work that decided to send it, each with the job that
    delivers it (`delivery`), at least once: a failed try is retried with the job's backoff,
    and given up after its last attempt (or at once when refused for good); the records of
    messages given up on go after `keep_failed`. Beyond the `recipient_limit` mails to one
    address are dropped, whoever asks for them (the answer to the request stays the same), so
    that no one can fill an inbox through the app. The delivery, which only sends what was
    queued, needs no limit."""

    def __init__(
        self,
        repository: OutboxRepository,
        *,
        jobs: JobService,
        delivery: JobType[MailDelivery],
        keep_failed: timedelta,
        clock: Clock,
        recipient_limit: RecipientLimit | None = None,
    ):
        self.repository = repository
        self.jobs = jobs
        self.delivery = delivery
        self.keep_failed = keep_failed
        self.clock = clock
        self.recipient_limit = recipient_limit

    async def queue(self, message: Message) -> None:
        if await self._within_limit(message.to):
            queued = await self.repository.queue(message, now=self.clock())
            await self._deliver(queued)

    async def queue_composed(self, composer: str, recipient: str) -> None:
        """A mail that `composer` writes when it is due (see `app.mail.jobs`), or decides not
        to send: the request queueing it does the same work whatever the outcome."""
        if await self._within_limit(recipient):
            queued = await self.repository.queue_composed(composer, recipient, now=self.clock())
            await self._deliver(queued)

    async def get(self, message_id: uuid.UUID) -> OutboxMessage | None:
        return await self.repository.get(message_id)

    async def composed(self, message: OutboxMessage, composed: Message | None) -> None:
        """What the composer wrote takes the place of the request for it; None drops it."""
        if composed is None:
            await self.repository.delivered(message.id)
        else:
            await self.repository.fill_in(message.id, composed)

    async def record(
        self, message: OutboxMessage, failure: Failure | None, *, attempt: int, last_try: bool
    ) -> Outcome:
        """What try `attempt` came to: the message is gone, tried again later, or given up."""
        if failure is None:
            await self.repository.delivered(message.id)
            return Outcome.SENT
        if failure.permanent or last_try:
            now = self.clock()
            await self.repository.give_up(message.id, now, attempt, failure.error)
            # Records pile up only while mail fails, so that is when the old ones go.
            await self.repository.delete_failed_before(now - self.keep_failed)
            return Outcome.GIVEN_UP
        await self.repository.tried(message.id, attempt, failure.error)
        return Outcome.RETRY

    async def _deliver(self, queued: OutboxMessage) -> None:
        await self.jobs.enqueue(self.delivery, MailDelivery(message_id=queued.id))

    async def _within_limit(self, recipient: str) -> bool:
        return self.recipient_limit is None or await self.recipient_limit.allows(recipient)


def as_message(queued: OutboxMessage) -> Message:
    return Message(
        to=queued.recipient,
        subject=queued.subject,
        text=queued.text_body or "",
        html=queued.html_body or "",
        key=str(queued.id),
    )
