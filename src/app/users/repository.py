from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError

from app.core.errors import AlreadyExistsError
from app.core.pagination import PageRequest, PageResult
from app.core.repository import UpsertResult, is_unique_violation
from app.identity.auth_cache import revoke_after_commit
from app.identity.models import User
from app.identity.repository import UserRecords
from app.users.filters import UserFilter
from app.users.schemas import UserAdminUpdate, UserCreate


class UserRepository(UserRecords[UserCreate, UserAdminUpdate]):
    """Every write to an existing user also revokes the cached token lookups of that user."""

    already_exists_message = "A user with this email already exists"

    async def compare_and_set(
        self, entity: User, values: Mapping[str, Any], *, expected_version: int | None = None
    ) -> User | None:
        revoke_after_commit(self.session, entity.id)
        updated = await super().compare_and_set(entity, values, expected_version=expected_version)
        if updated is not None:
            # RETURNING brings the columns, not the roles and permissions computed beside them.
            await self.reload(updated)
        return updated

    async def upsert_many(
        self,
        rows: Sequence[Mapping[str, Any]],
        *,
        update_columns: Sequence[str],
        match_on: Sequence[str] = (),
    ) -> UpsertResult[User]:
        revoke_after_commit(self.session, *(row["id"] for row in rows if row.get("id")))
        return await super().upsert_many(rows, update_columns=update_columns, match_on=match_on)

    async def set_email(
        self, user: User, email: str, *, verified_at: datetime, security_stamp: str
    ) -> User | None:
        """A unique violation (a live account took the address meanwhile) is
        `AlreadyExistsError`."""
        values = {
            "email": email,
            "email_verified_at": verified_at,
            "security_stamp": security_stamp,
        }
        try:
            return await self.compare_and_set(user, values)
        except IntegrityError as error:
            if is_unique_violation(error):
                raise AlreadyExistsError(self.already_exists_message) from error
            raise

    async def list_filtered(self, filters: UserFilter, page: PageRequest) -> PageResult[User]:
        return await self.list_page(filters.filter(self.select()), page)

    async def reload(self, user: User) -> None:
        """Read the user's roles and permissions again (after granting some, or an UPDATE)."""
        await self.session.refresh(user, ["role_names", "permission_names"])
