from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

import structlog

from app.core.metrics import Metrics
from app.core.ratelimit import RateLimiter
from app.core.request import Clock
from app.mail.models import OutboxMessage
from app.mail.repository import OutboxRepository
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
class OutboxPolicy:
    max_attempts: int
    retry_delay: timedelta
    # How long a claimed message is left to its claimant: longer than any SMTP exchange.
    lease: timedelta
    keep_failed: timedelta


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
    """Mail queued with the unit of work that decided to send it, and delivered later, at least
    once: a failed try is retried after a delay that doubles each time, and given up after
    `max_attempts` (or at once when refused for good); the records of messages given up on go
    after `keep_failed`. Beyond the `recipient_limit` mails to one address are dropped, whoever
    asks for them (the answer to the request stays the same), so that no one can fill an inbox
    through the app. The worker, which only delivers, needs no limit."""

    def __init__(
        self,
        repository: OutboxRepository,
        *,
        policy: OutboxPolicy,
        clock: Clock,
        recipient_limit: RecipientLimit | None = None,
    ):
        self.repository = repository
        self.policy = policy
        self.clock = clock
        self.recipient_limit = recipient_limit

    async def queue(self, message: Message) -> None:
        if await self._within_limit(message.to):
            await self.repository.queue(message, now=self.clock())

    async def queue_composed(self, composer: str, recipient: str) -> None:
        """A mail that `composer` writes when it is due (see `OutboxWorker`), or decides not to
        send: the request queueing it does the same work whatever the outcome."""
        if await self._within_limit(recipient):
            await self.repository.queue_composed(composer, recipient, now=self.clock())

    async def claim(self) -> OutboxMessage | None:
        return await self.repository.claim(now=self.clock(), lease=self.policy.lease)

    async def composed(self, message: OutboxMessage, composed: Message | None) -> None:
        """What the composer wrote takes the place of the request for it; None drops it."""
        if composed is None:
            await self.repository.delivered(message.id)
        else:
            await self.repository.fill_in(message, composed)

    async def record(self, message: OutboxMessage, failure: Failure | None) -> Outcome:
        """What a try came to: the message is gone, due again later, or given up."""
        if failure is None:
            await self.repository.delivered(message.id)
            return Outcome.SENT
        now = self.clock()
        if failure.permanent or message.attempts >= self.policy.max_attempts:
            await self.repository.give_up(message.id, now, failure.error)
            # Records pile up only while mail fails, so that is when the old ones go.
            await self.repository.delete_failed_before(now - self.policy.keep_failed)
            return Outcome.GIVEN_UP
        delay = self.policy.retry_delay * 2 ** (message.attempts - 1)
        await self.repository.retry_at(message.id, now + delay, failure.error)
        return Outcome.RETRY

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
