from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from app.core.mail import Message
from app.core.request import Clock
from app.mail.models import OutboxMessage
from app.mail.repository import OutboxRepository


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"
    GIVEN_UP = "given_up"


@dataclass(frozen=True)
class OutboxPolicy:
    max_attempts: int
    retry_delay: timedelta
    # How long a claimed message is left to its claimant: longer than any SMTP exchange.
    lease: timedelta
    keep_failed: timedelta


class OutboxService:
    """Mail queued with the unit of work that decided to send it, and delivered later, at least
    once: a failed try is retried after a delay that doubles each time, and given up after
    `max_attempts`; the records of messages given up on go after `keep_failed`."""

    def __init__(self, repository: OutboxRepository, *, policy: OutboxPolicy, clock: Clock):
        self.repository = repository
        self.policy = policy
        self.clock = clock

    async def queue(self, message: Message) -> None:
        await self.repository.queue(message, now=self.clock())

    async def claim(self) -> OutboxMessage | None:
        return await self.repository.claim(now=self.clock(), lease=self.policy.lease)

    async def record(self, message: OutboxMessage, error: str | None) -> Outcome:
        """What a try came to: the message is gone, due again later, or given up."""
        if error is None:
            await self.repository.delivered(message.id)
            return Outcome.SENT
        now = self.clock()
        if message.attempts >= self.policy.max_attempts:
            await self.repository.give_up(message.id, now, error)
            # Records pile up only while mail fails, so that is when the old ones go.
            await self.repository.delete_failed_before(now - self.policy.keep_failed)
            return Outcome.GIVEN_UP
        delay = self.policy.retry_delay * 2 ** (message.attempts - 1)
        await self.repository.retry_at(message.id, now + delay, error)
        return Outcome.RETRY


def as_message(queued: OutboxMessage) -> Message:
    return Message(
        to=queued.recipient,
        subject=queued.subject,
        text=queued.text_body or "",
        html=queued.html_body or "",
    )
