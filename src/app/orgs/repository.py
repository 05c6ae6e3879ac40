import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import contains_eager

from app.core.errors import AlreadyExistsError
from app.core.pagination import PageRequest, PageResult
from app.core.repository import Repository, is_unique_violation
from app.identity.auth_cache import revoke_after_commit
from app.identity.models import (
    OWNER,
    MemberRole,
    Membership,
    Organisation,
    OrgApiKey,
    OrgRole,
    OrgRolePermission,
    User,
)
from app.orgs.filters import MemberFilter, OrgFilter
from app.orgs.schemas import OrgCreate, OrgUpdate


class OrgRepository(Repository[Organisation, OrgCreate, OrgUpdate]):
    model = Organisation
    already_exists_message = "An organisation with this slug already exists"

    async def list_for_member(
        self, user_id: uuid.UUID, filters: OrgFilter, page: PageRequest
    ) -> PageResult[Organisation]:
        statement = self.select().join(Membership).where(Membership.user_id == user_id)
        return await self.list_page(filters.filter(statement), page)

    async def lock(self, org_id: uuid.UUID) -> Organisation | None:
        """The organisation, locked until the unit of work ends: changes to who holds its
        roles take this lock first, so that they happen one at a time."""
        statement = self.by_id(for_update=True)
        return (await self.session.execute(statement, {"entity_id": org_id})).scalar_one_or_none()

    async def change(
        self, org: Organisation, data: OrgUpdate, *, expected_version: int | None
    ) -> Organisation | None:
        """`update`, a slug another organisation has answered as a conflict."""
        try:
            return await self.update(org, data, expected_version=expected_version)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise AlreadyExistsError(self.already_exists_message) from exc
            raise

    async def slug_taken(self, slug: str) -> bool:
        statement = select(func.count()).where(Organisation.slug == slug)
        return bool((await self.session.execute(statement)).scalar_one())

    async def delete(self, org: Organisation) -> None:
        """The organisation and everything it owns (the foreign keys cascade)."""
        members = select(Membership.user_id).where(Membership.org_id == org.id)
        keys = select(OrgApiKey.id).where(OrgApiKey.org_id == org.id)
        revoke_after_commit(self.session, *(await self.session.scalars(members)))
        revoke_after_commit(self.session, *(await self.session.scalars(keys)))
        await self.session.execute(delete(Organisation).where(Organisation.id == org.id))


class MemberRepository(Repository[Membership]):
    """A change to who is a member, or to the roles they hold, revokes their cached token
    lookups once the unit of work commits."""

    model = Membership

    def _with_user(self) -> Select[tuple[Membership]]:
        return (
            select(Membership)
            .join(Membership.user)
            .options(contains_eager(Membership.user))
            .where(User.deleted_at.is_(None))
        )

    async def list_in(
        self, org_id: uuid.UUID, filters: MemberFilter, page: PageRequest
    ) -> PageResult[Membership]:
        statement = self._with_user().where(Membership.org_id == org_id)
        return await self.list_page(filters.filter(statement), page)

    async def find(self, org_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        statement = self._with_user().where(
            Membership.org_id == org_id, Membership.user_id == user_id
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def add(self, org_id: uuid.UUID, user_id: uuid.UUID, roles: Iterable[OrgRole]) -> None:
        """The user is a member holding `roles` besides any they hold already."""
        joined = self.insert(Membership).values(id=uuid.uuid4(), org_id=org_id, user_id=user_id)
        await self.session.execute(joined.on_conflict_do_nothing())
        membership = select(Membership.id).where(
            Membership.org_id == org_id, Membership.user_id == user_id
        )
        await self._give((await self.session.execute(membership)).scalar_one(), roles)
        revoke_after_commit(self.session, user_id)

    async def set_roles(self, membership: Membership, roles: Iterable[OrgRole]) -> None:
        kept = [role.id for role in roles]
        await self.session.execute(
            delete(MemberRole).where(
                MemberRole.membership_id == membership.id, MemberRole.role_id.not_in(kept)
            )
        )
        await self._give(membership.id, roles)
        await self.session.refresh(membership, ["role_names"])
        revoke_after_commit(self.session, membership.user_id)

    async def remove(self, membership: Membership) -> None:
        await self.session.execute(delete(Membership).where(Membership.id == membership.id))
        revoke_after_commit(self.session, membership.user_id)

    async def owner_ids(self, org_id: uuid.UUID) -> set[uuid.UUID]:
        """The users who hold `owner` in the organisation (read under its lock)."""
        statement = (
            select(Membership.user_id)
            .join(MemberRole, MemberRole.membership_id == Membership.id)
            .join(OrgRole, OrgRole.id == MemberRole.role_id)
            .where(Membership.org_id == org_id, OrgRole.name == OWNER, OrgRole.org_id.is_(None))
        )
        return set(await self.session.scalars(statement))

    async def permissions(self, org_id: uuid.UUID, user_id: uuid.UUID) -> frozenset[str] | None:
        """What the user may do in the organisation now; None when not a member."""
        membership = await self.find(org_id, user_id)
        if membership is None:
            return None
        statement = (
            select(OrgRolePermission.permission)
            .join(MemberRole, MemberRole.role_id == OrgRolePermission.role_id)
            .where(MemberRole.membership_id == membership.id)
        )
        return frozenset(await self.session.scalars(statement))

    async def _give(self, membership_id: uuid.UUID, roles: Iterable[OrgRole]) -> None:
        """Idempotent: a role held already stays as it is."""
        rows = [{"membership_id": membership_id, "role_id": role.id} for role in roles]
        if rows:
            await self.session.execute(self.insert(MemberRole).on_conflict_do_nothing(), rows)


class OrgRoleRepository(Repository[OrgRole]):
    """A change to what a role grants, or its deletion, revokes its holders' cached token
    lookups once the unit of work commits."""

    model = OrgRole
    already_exists_message = "The organisation has a role with this name"

    async def named(self, org_id: uuid.UUID, names: Iterable[str]) -> list[OrgRole]:
        """The roles of these names the organisation has: built in, or its own."""
        statement = select(OrgRole).where(
            OrgRole.name.in_(set(names)), (OrgRole.org_id == org_id) | OrgRole.org_id.is_(None)
        )
        return list(await self.session.scalars(statement))

    async def list_in(self, org_id: uuid.UUID) -> list[OrgRole]:
        """The built-in roles, then the organisation's own, by name."""
        statement = (
            select(OrgRole)
            .where((OrgRole.org_id == org_id) | OrgRole.org_id.is_(None))
            .order_by(OrgRole.built_in.desc(), OrgRole.name)
        )
        return list(await self.session.scalars(statement))

    async def get_in(self, org_id: uuid.UUID, role_id: uuid.UUID) -> OrgRole | None:
        statement = select(OrgRole).where(
            OrgRole.id == role_id, (OrgRole.org_id == org_id) | OrgRole.org_id.is_(None)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def set_permissions(self, role: OrgRole, permissions: Iterable[str]) -> None:
        """Idempotent; the role's holders' cached lookups are revoked once this commits."""
        kept = set(permissions)
        await self.session.execute(
            delete(OrgRolePermission).where(
                OrgRolePermission.role_id == role.id, OrgRolePermission.permission.not_in(kept)
            )
        )
        rows = [{"role_id": role.id, "permission": permission} for permission in sorted(kept)]
        if rows:
            await self.session.execute(
                self.insert(OrgRolePermission).on_conflict_do_nothing(), rows
            )
        await self.session.refresh(role, ["grants"])
        await self._revoke_holders(role)

    async def rename(self, role: OrgRole, values: Mapping[str, Any]) -> OrgRole | None:
        try:
            return await self.compare_and_set(role, values)
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise AlreadyExistsError(self.already_exists_message) from exc
            raise

    async def delete(self, role: OrgRole) -> None:
        await self._revoke_holders(role)
        await self.session.execute(delete(OrgRole).where(OrgRole.id == role.id))

    async def _revoke_holders(self, role: OrgRole) -> None:
        holders = (
            select(Membership.user_id)
            .join(MemberRole, MemberRole.membership_id == Membership.id)
            .where(MemberRole.role_id == role.id)
        )
        revoke_after_commit(self.session, *(await self.session.scalars(holders)))
