import uuid
from collections.abc import Sequence

from app.core.errors import ForbiddenError, NotFoundError
from app.core.pagination import PageRequest, PageResult
from app.sessions.service import UserSessionService
from app.users.filters import UserFilter
from app.users.models import User
from app.users.repository import UserRepository
from app.users.schemas import UserAdminUpdate, UserUpdateMe


class UserService:
    """User records. Deactivating or deleting a user revokes all of their sessions."""

    def __init__(self, repository: UserRepository, *, user_sessions: UserSessionService):
        self.repository = repository
        self.user_sessions = user_sessions

    async def create(
        self,
        *,
        email: str,
        hashed_password: str,
        full_name: str | None = None,
        is_superuser: bool = False,
    ) -> User:
        """A new user; a live account with the same email is `AlreadyExistsError` (409)."""
        return await self.repository.create(
            email=email,
            hashed_password=hashed_password,
            full_name=full_name,
            is_superuser=is_superuser,
        )

    async def get(self, user_id: uuid.UUID) -> User:
        user = await self.repository.get(user_id)
        if user is None:
            raise NotFoundError("User not found")
        return user

    async def upsert_many(self, rows: Sequence[dict[str, object]]) -> list[User]:
        """Create users by id, or refresh their names (demo data, imports)."""
        result = await self.repository.upsert_many(rows, update_columns=("full_name",))
        return result.items

    async def get_for_login_and_release_connection(self, email: str) -> User | None:
        """The user with this email; the transaction then ends and the connection goes back to
        the pool while the password is checked (see `Repository.release_connection`: it
        refuses when this unit of work already wrote)."""
        user = await self.repository.get_by_email(email)
        await self.repository.release_connection()
        return user

    async def set_password_hash(self, user: User, hashed_password: str) -> None:
        await self.repository.compare_and_set(user, {"hashed_password": hashed_password})

    async def update_me(self, user: User, data: UserUpdateMe) -> User:
        return await self._write(user, data.model_dump(exclude_unset=True))

    async def list_page(self, filters: UserFilter, page: PageRequest) -> PageResult[User]:
        return await self.repository.list_filtered(filters, page)

    async def update(self, actor: User, user_id: uuid.UUID, data: UserAdminUpdate) -> User:
        user = await self.get(user_id)
        values = data.model_dump(exclude_unset=True)
        demotes = values.get("is_active") is False or values.get("is_superuser") is False
        if user.id == actor.id and demotes:
            raise ForbiddenError("You cannot deactivate or demote yourself")
        if demotes:
            await self._confirm_superuser(actor)
        updated = await self._write(user, values)
        if values.get("is_active") is False:
            await self.user_sessions.revoke_all(user.id)
        return updated

    async def delete(self, actor: User, user_id: uuid.UUID) -> None:
        """Soft delete; the user's sessions end at once."""
        user = await self.get(user_id)
        if user.id == actor.id:
            raise ForbiddenError("You cannot delete yourself")
        await self._confirm_superuser(actor)
        await self.repository.soft_delete(user)
        await self.user_sessions.revoke_all(user.id)

    async def _confirm_superuser(self, actor: User) -> None:
        """Before taking a user's access away: the actor is still an active superuser, checked
        under a lock on every superuser. The actor cannot remove themself, so one remains even
        when two administrators remove each other at once (the second one is refused)."""
        if actor.id not in await self.repository.lock_active_superuser_ids():
            raise ForbiddenError("Superuser privileges required")

    async def _write(self, user: User, values: dict[str, object]) -> User:
        if not values:
            return user
        updated = await self.repository.compare_and_set(user, values)
        if updated is None:
            raise NotFoundError("User not found")
        return updated
