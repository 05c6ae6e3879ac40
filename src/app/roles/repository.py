import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import delete, insert, select

from app.core.repository import Repository
from app.identity.auth_cache import EVERYONE, revoke_after_commit

# Whose access a role decides, checked under a lock. Users and roles are joined (not filtered
# by subquery) so that PostgreSQL locks the users' rows too and re-checks a row it waited for.
from app.identity.models import ADMIN, Role, RolePermission, User, UserRole
from app.roles.schemas import RoleCreate, RoleUpdate


class RoleRepository(Repository[Role, RoleCreate, RoleUpdate]):
    """A change to what a role grants, or to who holds it, revokes the cached token lookups
    of everyone it concerns."""

    model = Role
    already_exists_message = "A role with this name already exists"

    async def list_all(self) -> list[Role]:
        return list((await self.session.scalars(self.select().order_by(Role.name))).all())

    async def get_by_name(self, name: str) -> Role | None:
        return (await self.session.scalars(self.select().where(Role.name == name))).one_or_none()

    async def get_by_names(self, names: Iterable[str]) -> list[Role]:
        statement = self.select().where(Role.name.in_(set(names)))
        return list((await self.session.scalars(statement)).all())

    async def compare_and_set(
        self, entity: Role, values: Mapping[str, Any], *, expected_version: int | None = None
    ) -> Role | None:
        # A renamed role is renamed in every holder's cached lookup too.
        revoke_after_commit(self.session, EVERYONE)
        return await super().compare_and_set(entity, values, expected_version=expected_version)

    async def set_permissions(self, role: Role, permissions: Iterable[str]) -> None:
        """Idempotent: two identical changes at once both succeed."""
        kept = set(permissions)
        await self.session.execute(
            delete(RolePermission).where(
                RolePermission.role_id == role.id, RolePermission.permission.not_in(kept)
            )
        )
        rows = [{"role_id": role.id, "permission": permission} for permission in sorted(kept)]
        if rows:
            await self.session.execute(self.insert(RolePermission).on_conflict_do_nothing(), rows)
        await self.session.refresh(role, ["grants"])
        revoke_after_commit(self.session, EVERYONE)

    async def delete(self, role: Role) -> None:
        await self.session.execute(delete(Role).where(Role.id == role.id))
        revoke_after_commit(self.session, EVERYONE)

    async def assign(self, user_id: uuid.UUID, role_ids: Iterable[uuid.UUID]) -> None:
        """The user holds these roles (again, or granted twice at once: nothing changes)."""
        rows = [{"user_id": user_id, "role_id": role_id} for role_id in role_ids]
        if rows:
            await self.session.execute(self.insert(UserRole).on_conflict_do_nothing(), rows)
        revoke_after_commit(self.session, user_id)

    async def assign_many(self, user_ids: Iterable[uuid.UUID], role_id: uuid.UUID) -> None:
        """New users (holding nothing yet) given one role."""
        rows = [{"user_id": user_id, "role_id": role_id} for user_id in user_ids]
        await self.session.execute(insert(UserRole), rows)
        revoke_after_commit(self.session, *(row["user_id"] for row in rows))

    async def unassign(self, user_id: uuid.UUID, role_id: uuid.UUID) -> None:
        statement = delete(UserRole).where(UserRole.user_id == user_id, UserRole.role_id == role_id)
        await self.session.execute(statement)
        revoke_after_commit(self.session, user_id)

    async def holders_permissions(self, role_id: uuid.UUID) -> set[str]:
        """Every permission any holder of the role holds, through any of their roles."""
        holders = select(UserRole.user_id).where(UserRole.role_id == role_id)
        statement = (
            select(RolePermission.permission)
            .join(UserRole, UserRole.role_id == RolePermission.role_id)
            .where(UserRole.user_id.in_(holders))
            .distinct()
        )
        return set((await self.session.scalars(statement)).all())

    async def held_role_ids(self, user_id: uuid.UUID) -> set[uuid.UUID]:
        statement = select(UserRole.role_id).where(UserRole.user_id == user_id)
        return set((await self.session.scalars(statement)).all())

    async def lock_active_admin_ids(self) -> set[uuid.UUID]:
        """The live, active holders of `admin`, their rows locked until the transaction ends.

        Two administrators removing each other at once then take turns, and the second reads
        the first's committed change (PostgreSQL re-checks the condition of a row it waited
        for); SQLite's write transactions run one at a time anyway. In id order, so that
        concurrent callers lock alike and never deadlock.
        """
        statement = (
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Role, Role.id == UserRole.role_id)
            .where(Role.name == ADMIN, User.is_active, User.deleted_at.is_(None))
            .order_by(User.id)
            .with_for_update()
        )
        return set((await self.session.scalars(statement)).all())
