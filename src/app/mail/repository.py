import uuid
from datetime import datetime

from sqlalchemy import delete, update

from app.core.repository import Repository
from app.mail.models import OutboxMessage
from app.mail.sender import Message


class OutboxRepository(Repository[OutboxMessage]):
    model = OutboxMessage

    async def queue(self, message: Message, *, now: datetime) -> OutboxMessage:
        return await self.create(
            recipient=message.to,
            subject=message.subject,
            text_body=message.text,
            html_body=message.html,
            created_at=now,
        )

    async def queue_composed(
        self, composer: str, recipient: str, *, now: datetime
    ) -> OutboxMessage:
        return await self.create(recipient=recipient, subject="", composer=composer, created_at=now)

    async def fill_in(self, message_id: uuid.UUID, composed: Message) -> None:
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                recipient=composed.to,
                subject=composed.subject,
                text_body=composed.text,
                html_body=composed.html,
                composer=None,
            )
        )
        await self.session.execute(statement)

    async def delivered(self, message_id: uuid.UUID) -> None:
        await self.session.execute(delete(OutboxMessage).where(OutboxMessage.id == message_id))

    async def tried(self, message_id: uuid.UUID, attempts: int, error: str) -> None:
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(attempts=attempts, last_error=error[:500])
        )
        await self.session.execute(statement)

    async def give_up(
        self, message_id: uuid.UUID, now: datetime, attempts: int, error: str
    ) -> None:
        statement = (
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                attempts=attempts,
                failed_at=now,
                last_error=error[:500],
                text_body=None,
                html_body=None,
            )
        )
        await self.session.execute(statement)

    async def delete_failed_before(self, when: datetime) -> None:
        await self.session.execute(delete(OutboxMessage).where(OutboxMessage.failed_at < when))
