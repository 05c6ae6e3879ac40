"""The base of the repositories of credentials a user holds (sessions, API keys), the users'
records every feature reads, and the audit log's writes."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, delete, insert

from app.core.models import ModelT
from app.core.repository import Repository
from app.core.schemas import CreateT, UpdateT
from app.identity.auth_cache import revoke_after_commit
from app.identity.models import AuditEvent, User


class CredentialRepository(Repository[ModelT]):
    """Rows with a `user_id` and a `last_used_at`. Deleting one revokes its user's cached token
    lookups once the unit of work commits."""

    async def touch(self, credential: ModelT, now: datetime) -> None:
        """Record a use (the service decides how seldom)."""
        cast(Any, credential).last_used_at = now
        await self.session.flush()

    async def delete_one(self, credential_id: uuid.UUID, *, user_id: uuid.UUID) -> bool:
        """Deletes the credential if it belongs to `user_id`; False when there was none."""
        statement = delete(self.model).where(
            self.column("id") == credential_id, self.column("user_id") == user_id
        )
        result = await self.session.execute(statement)
        if not result.rowcount:  # type: ignore[attr-defined]
            return False
        revoke_after_commit(self.session, user_id)
        return True

    async def delete_all(self, user_id: uuid.UUID, *, keep: uuid.UUID | None = None) -> None:
        """Deletes every credential of `user_id` but `keep`."""
        statement = delete(self.model).where(self.column("user_id") == user_id)
        if keep is not None:
            statement = statement.where(self.column("id") != keep)
        await self.session.execute(statement)
        revoke_after_commit(self.session, user_id)


class UserRecords(Repository[User, CreateT, UpdateT]):
    """Live users, read by id (`get`) or email: what every feature that acts on a user looks
    up. The users feature writes them through its own repository, built on this one."""

    model = User

    async def get_by_email(self, email: str) -> User | None:
        statement = self.select().where(User.email == email)
        return (await self.session.execute(statement)).scalar_one_or_none()


# Every audited request runs it: built once (Core's plain INSERT, in SQLAlchemy's compiled cache).
_ADD_AUDIT_EVENT = insert(cast(Table, AuditEvent.__table__))


class AuditRecords(Repository[AuditEvent]):
    """Appends to the audit log (its reading is the `audit` feature's)."""

    model = AuditEvent

    async def add(self, values: Mapping[str, Any]) -> None:
        await self.session.execute(_ADD_AUDIT_EVENT, dict(values))
