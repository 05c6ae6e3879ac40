import uuid
from collections.abc import Iterable, Mapping

from app.core.errors import ConflictError, ForbiddenError, NotFoundError, PermissionDeniedError
from app.core.models import utcnow
from app.core.permissions import covers
from app.identity.models import ADMIN, Role, User
from app.identity.service import AuditLog, Target
from app.roles.audit import ROLE_CREATED, ROLE_DELETED, ROLE_GRANTED, ROLE_REVOKED, ROLE_UPDATED
from app.roles.repository import RoleRepository
from app.roles.schemas import RoleCreate, RoleUpdate


class RoleService:
    """Roles and who holds them. Nobody hands out what they do not hold: creating, changing,
    deleting, granting or taking back a role needs every permission it involves. Changing what
    a role grants, or deleting it, changes every holder, and taking a role from a user changes
    that user: each needs every permission those users hold (so only an admin changes a role
    an admin holds). The built-in roles keep their names, `admin` keeps every permission, and
    an active `admin` always remains."""

    def __init__(self, repository: RoleRepository, *, audit: AuditLog):
        self.repository = repository
        self.audit = audit

    async def list_all(self) -> list[Role]:
        return await self.repository.list_all()

    async def get(self, role_id: uuid.UUID) -> Role:
        role = await self.repository.get(role_id)
        if role is None:
            raise NotFoundError("Role not found")
        return role

    async def create(self, actor: User, data: RoleCreate) -> Role:
        _may_hand_out(actor, data.permissions)
        role = await self.repository.create(name=data.name, description=data.description)
        await self.repository.set_permissions(role, data.permissions)
        details = {"name": role.name, "permissions": sorted(data.permissions)}
        await self._record(ROLE_CREATED, actor, role, details=details)
        return role

    async def update(self, actor: User, role_id: uuid.UUID, data: RoleUpdate) -> Role:
        role = await self.get(role_id)
        _may_hand_out(actor, role.permissions)
        values = data.model_dump(exclude_unset=True)
        permissions = values.pop("permissions", None)
        if role.built_in and values.get("name", role.name) != role.name:
            raise ConflictError("A built-in role keeps its name")
        if permissions is not None:
            if role.name == ADMIN:
                raise ConflictError("The admin role holds every permission")
            _may_hand_out(actor, permissions)
            await self._may_change_holders(actor, role)
            await self.repository.set_permissions(role, permissions)
        updated = await self.repository.compare_and_set(role, values or {"updated_at": utcnow()})
        if updated is None:
            raise NotFoundError("Role not found")
        details: dict[str, object] = {"name": updated.name, "changed": sorted(values)}
        if permissions is not None:
            details["permissions"] = sorted(permissions)
        await self._record(ROLE_UPDATED, actor, updated, details=details)
        return updated

    async def delete(self, actor: User, role_id: uuid.UUID) -> None:
        role = await self.get(role_id)
        if role.built_in:
            raise ConflictError("A built-in role cannot be deleted")
        _may_hand_out(actor, role.permissions)
        await self._may_change_holders(actor, role)
        await self.repository.delete(role)
        await self._record(ROLE_DELETED, actor, role, details={"name": role.name})

    async def grant(self, actor: User, user: User, role_id: uuid.UUID) -> None:
        role = await self.get(role_id)
        _may_hand_out(actor, role.permissions)
        await self.repository.assign(user.id, [role.id])
        await self._record(ROLE_GRANTED, actor, role, subject=user, details={"name": role.name})

    async def named(self, name: str) -> Role:
        role = await self.repository.get_by_name(name)
        if role is None:
            raise NotFoundError(f"No role named {name}")
        return role

    async def grant_by_name(self, user: User, *names: str) -> None:
        """For registration and the command line: no actor, no checks."""
        await self.repository.assign(user.id, [(await self.named(name)).id for name in names])

    async def grant_to_all(self, user_ids: set[uuid.UUID], name: str) -> None:
        """For new users made in bulk (seeding, imports): no actor, no checks."""
        if user_ids:
            await self.repository.assign_many(user_ids, (await self.named(name)).id)

    async def take_back(self, actor: User, user: User, role_id: uuid.UUID) -> None:
        role = await self.get(role_id)
        _may_hand_out(actor, role.permissions)
        _may_change(actor, user.permissions)
        if role.name == ADMIN:
            await self.confirm_admin_remains(actor, user)
        await self.repository.unassign(user.id, role.id)
        await self._record(ROLE_REVOKED, actor, role, subject=user, details={"name": role.name})

    async def take_back_by_name(self, user: User, name: str) -> None:
        """For the command line: no actor, but an active admin still remains."""
        role = await self.named(name)
        if role.name == ADMIN and not await self.repository.lock_active_admin_ids() - {user.id}:
            raise ConflictError("The last active admin keeps the role")
        await self.repository.unassign(user.id, role.id)

    async def confirm_admin_remains(self, actor: User, user: User) -> None:
        """Before `user` loses `admin` (or all access): the actor is still an active admin,
        checked under a lock on every admin, and is not `user`, so one admin always remains,
        also when two remove each other at once (the second one is refused)."""
        if user.id == actor.id:
            raise ForbiddenError("You cannot take administration away from yourself")
        if actor.id not in await self.repository.lock_active_admin_ids():
            raise ForbiddenError("Only an active administrator may do this")

    async def _record(
        self,
        action: str,
        actor: User,
        role: Role,
        *,
        subject: User | None = None,
        details: Mapping[str, object],
    ) -> None:
        await self.audit.record(
            action,
            actor_id=actor.id,
            subject_id=subject.id if subject else None,
            target=Target("role", role.id),
            details=details,
        )

    async def _may_change_holders(self, actor: User, role: Role) -> None:
        _may_change(actor, await self.repository.holders_permissions(role.id))


def _may_hand_out(actor: User, permissions: Iterable[str]) -> None:
    if not covers(actor.permissions, permissions):
        missing = sorted(set(permissions) - actor.permissions)
        raise PermissionDeniedError(missing[0])


def _may_change(actor: User, held: Iterable[str]) -> None:
    """The users concerned hold nothing the actor does not."""
    if not covers(actor.permissions, held):
        raise ForbiddenError("You cannot change users who hold permissions you do not")
