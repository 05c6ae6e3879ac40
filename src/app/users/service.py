import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime

from app.core.errors import ForbiddenError, NotFoundError
from app.core.models import utcnow
from app.core.pagination import PageRequest, PageResult
from app.core.permissions import covers
from app.core.security import new_security_stamp
from app.identity.models import ADMIN, USER, User
from app.identity.service import AuditLog, Target, UserDirectory
from app.roles.service import RoleService
from app.sessions.service import UserSessionService
from app.users.audit import USER_DEACTIVATED, USER_DELETED, USER_UPDATED
from app.users.filters import UserFilter
from app.users.repository import UserRepository
from app.users.schemas import UserAdminUpdate, UserUpdateMe


class UserService(UserDirectory):
    """User records. Deactivating or deleting a user revokes all of their sessions; only a
    user who holds every permission of another may change or delete them."""

    def __init__(
        self,
        repository: UserRepository,
        *,
        user_sessions: UserSessionService,
        roles: RoleService,
        audit: AuditLog,
    ):
        super().__init__(repository)
        self.repository: UserRepository = repository
        self.user_sessions = user_sessions
        self.roles = roles
        self.audit = audit

    async def create(
        self,
        *,
        email: str,
        hashed_password: str | None,
        full_name: str | None = None,
        roles: tuple[str, ...] = (USER,),
    ) -> User:
        """A new user holding `roles`; a live account with the same email is
        `AlreadyExistsError` (409)."""
        user = await self.repository.create(
            email=email, hashed_password=hashed_password, full_name=full_name
        )
        await self.roles.grant_by_name(user, *roles)
        await self.repository.reload(user)
        return user

    async def find_by_email(self, email: str) -> User | None:
        return await self.repository.get_by_email(email)

    async def mark_email_verified(self, user: User, at: datetime) -> None:
        if user.email_verified_at is None:
            await self._write(user, {"email_verified_at": at})

    async def change_email(self, user: User, email: str, *, verified_at: datetime) -> None:
        """A credential change (see `security_stamp`). A live account with the address already
        is `AlreadyExistsError` (409)."""
        changed = await self.repository.set_email(
            user, email, verified_at=verified_at, security_stamp=new_security_stamp()
        )
        if changed is None:
            raise NotFoundError("User not found")

    async def upsert_many(self, rows: Sequence[dict[str, object]]) -> list[User]:
        """Create users by id (holding `user`), or refresh their names (demo data, imports)."""
        result = await self.repository.upsert_many(rows, update_columns=("full_name",))
        await self.roles.grant_to_all(result.created_ids, USER)
        return result.items

    async def get_for_login_and_release_connection(self, email: str) -> User | None:
        """The user with this email; the transaction then ends and the connection goes back to
        the pool while the password is checked (see `Repository.release_connection`: it
        refuses when this unit of work already wrote)."""
        user = await self.repository.get_by_email(email)
        await self.repository.release_connection()
        return user

    async def set_password(self, user: User, hashed_password: str) -> None:
        """A new password: a credential change (see `security_stamp`)."""
        values = {"hashed_password": hashed_password, "security_stamp": new_security_stamp()}
        await self.repository.compare_and_set(user, values)

    async def upgrade_password_hash(self, user: User, hashed_password: str) -> None:
        """The same password, hashed with the current parameters (at login)."""
        await self.repository.compare_and_set(user, {"hashed_password": hashed_password})

    async def update_me(self, user: User, data: UserUpdateMe) -> User:
        return await self._write(user, data.model_dump(exclude_unset=True))

    async def list_page(self, filters: UserFilter, page: PageRequest) -> PageResult[User]:
        return await self.repository.list_filtered(filters, page)

    async def update(self, actor: User, user_id: uuid.UUID, data: UserAdminUpdate) -> User:
        """`is_superuser` grants or takes back the `admin` role."""
        user = await self._changeable(actor, user_id)
        values = data.model_dump(exclude_unset=True)
        superuser = values.pop("is_superuser", None)
        deactivates = values.get("is_active") is False
        demotes = deactivates or superuser is False
        if user.id == actor.id and demotes:
            raise ForbiddenError("You cannot deactivate or demote yourself")
        if demotes and user.is_superuser:
            await self.roles.confirm_admin_remains(actor, user)
        if superuser is not None and superuser != user.is_superuser:
            admin = await self.roles.named(ADMIN)
            change = self.roles.grant if superuser else self.roles.take_back
            await change(actor, user, admin.id)
            values.setdefault("updated_at", utcnow())
        if deactivates:
            values["security_stamp"] = new_security_stamp()
        updated = await self._write(user, values)
        changed = sorted(set(values) - {"updated_at", "security_stamp"})
        if changed:
            await self._record(USER_UPDATED, actor, user, details={"changed": changed})
        if deactivates:
            await self.user_sessions.revoke_all(user.id)
            await self._record(USER_DEACTIVATED, actor, user)
        return updated

    async def delete(self, actor: User, user_id: uuid.UUID) -> None:
        """Soft delete; the user's sessions end at once."""
        user = await self._changeable(actor, user_id)
        if user.id == actor.id:
            raise ForbiddenError("You cannot delete yourself")
        if user.is_superuser:
            await self.roles.confirm_admin_remains(actor, user)
        await self.repository.soft_delete(user)
        await self.user_sessions.revoke_all(user.id)
        await self._record(USER_DELETED, actor, user, details={"email": user.email})

    async def _record(
        self, action: str, actor: User, user: User, details: Mapping[str, object] | None = None
    ) -> None:
        target = Target("user", user.id)
        await self.audit.record(
            action, actor_id=actor.id, subject_id=user.id, target=target, details=details
        )

    async def _changeable(self, actor: User, user_id: uuid.UUID) -> User:
        """The user, when `actor` holds every permission they hold."""
        user = await self.get(user_id)
        if not covers(actor.permissions, user.permissions):
            raise ForbiddenError("You cannot change a user who holds permissions you do not")
        return user

    async def _write(self, user: User, values: dict[str, object]) -> User:
        if not values:
            return user
        updated = await self.repository.compare_and_set(user, values)
        if updated is None:
            raise NotFoundError("User not found")
        return updated
