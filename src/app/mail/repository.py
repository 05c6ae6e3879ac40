import uuid
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from app.core.db import after_commit
from app.core.repository import Repository
from app.mail.models import OutboxMessage
from app.mail.sender import WAKE_OUTBOX, Message


class OutboxRepository(Repository[OutboxMessage]):
    model = OutboxMessage

    async def queue(self, message: Message, *, now: datetime) -> None:
        await self.create(
            recipient=message.to,
            subject=message.subject,
            text_body=message.text,
            html_body=message.html,
            created_at=now,
            next_attempt_at=now,
        )
        after_commit(self.session, WAKE_OUTBOX)

    async def queue_composed(self, composer: str, recipient: str, *, now: datetime) -> None:
        await self.create(
            recipient=recipient, subject="", composer=composer, created_at=now, next_attempt_at=now
        )
        after_commit(self.session, WAKE_OUTBOX)

    async def fill_in(self, message: OutboxMessage, composed: Message) -> None:
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id)
            .values(
                recipient=composed.to,
                subject=composed.subject,
                text_body=composed.text,
                html_body=composed.html,
                composer=None,
            )
        )
        await self.session.execute(statement)

    async def claim(self, *, now: datetime, lease: timedelta) -> OutboxMessage | None:
        """The next due message, leased to this caller: its next attempt moves past the lease,
        so no one else takes it meanwhile. PostgreSQL skips rows another claim holds
        (`FOR UPDATE SKIP LOCKED`); SQLite's write transactions run one at a time."""
        due = (
            select(OutboxMessage.id)
            .where(OutboxMessage.failed_at.is_(None), OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        message_id = await self.session.scalar(due)
        if message_id is None:
            return None
        lease_statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(next_attempt_at=now + lease, attempts=OutboxMessage.attempts + 1)
            .returning(OutboxMessage)
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(lease_statement)).scalar_one()

    async def delivered(self, message_id: uuid.UUID) -> None:
        await self.session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))

    async def retry_at(self, message_id: uuid.UUID, when: datetime, error: str) -> None:
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(next_attempt_at=when, last_error=error[:500])
        )
        await self.session.execute(statement)

    async def give_up(self, message_id: uuid.UUID, now: datetime, error: str) -> None:
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(failed_at=now, last_error=error[:500], text_body=None, html_body=None)
        )
        await self.session.execute(statement)

    async def delete_failed_before(self, when: datetime) -> None:
        await self.session.execute(delete(OutboxMessage).where(OutboxMessage.failed_at < when))
