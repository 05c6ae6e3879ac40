"""The base of the repositories of credentials a user holds (sessions, API keys)."""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete

from app.core.models import ModelT
from app.core.repository import Repository
from app.core.schemas import CreateT, UpdateT
from app.identity.auth_cache import revoke_after_commit
from app.identity.models import User


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
