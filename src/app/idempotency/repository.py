import hashlib
import uuid
from datetime import datetime

from sqlalchemy import delete, select, text

from app.core.repository import Repository
from app.idempotency.models import IdempotencyKey


class IdempotencyRepository(Repository[IdempotencyKey]):
    model = IdempotencyKey

    async def try_lock(self, user_id: uuid.UUID, scope: str, key: str) -> bool:
        """Claims the key for this transaction; False when another transaction holds it.

        PostgreSQL: a transaction-scoped advisory lock, released at commit or rollback (or when
        the connection dies), shared by every instance. SQLite runs one write transaction at a
        time (`BEGIN IMMEDIATE`), so a concurrent request waits for this one and then replays.
        """
        if self.session.get_bind().dialect.name != "postgresql":
            return True
        digest = hashlib.sha256(f"{user_id}:{scope}:{key}".encode()).digest()
        lock_id = int.from_bytes(digest[:8], "big", signed=True)
        statement = text("SELECT pg_try_advisory_xact_lock(:lock_id)")
        return bool((await self.session.execute(statement, {"lock_id": lock_id})).scalar_one())

    async def get_live(
        self, user_id: uuid.UUID, scope: str, key: str, *, now: datetime
    ) -> IdempotencyKey | None:
        statement = select(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id,
            IdempotencyKey.scope == scope,
            IdempotencyKey.key == key,
            IdempotencyKey.expires_at > now,
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def delete_expired(self, user_id: uuid.UUID, *, now: datetime) -> None:
        statement = delete(IdempotencyKey).where(
            IdempotencyKey.user_id == user_id, IdempotencyKey.expires_at <= now
        )
        await self.session.execute(statement)
