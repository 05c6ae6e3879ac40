import re
import secrets
import unicodedata
import uuid
from collections.abc import Mapping

from app.core.errors import (
    AlreadyExistsError,
    ConflictError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    ReauthRequiredError,
)
from app.core.etag import IfMatch
from app.core.models import utcnow
from app.core.pagination import PageRequest, PageResult
from app.core.permissions import allows, covers
from app.core.service import Service
from app.identity.credentials import OrgMember
from app.identity.models import BUILT_IN_ORG_ROLES, OWNER, Membership, Organisation, OrgRole, User
from app.identity.service import AuditLog, Target
from app.orgs.audit import (
    MEMBER_REMOVED,
    MEMBER_ROLES_CHANGED,
    ORG_CREATED,
    ORG_DELETED,
    ORG_ROLE_CREATED,
    ORG_ROLE_DELETED,
    ORG_ROLE_UPDATED,
    ORG_UPDATED,
)
from app.orgs.filters import MemberFilter, OrgFilter
from app.orgs.permissions import MEMBERS_MANAGE
from app.orgs.repository import MemberRepository, OrgRepository, OrgRoleRepository
from app.orgs.schemas import (
    MemberRolesUpdate,
    OrgCreate,
    OrgRoleCreate,
    OrgRoleUpdate,
    OrgUpdate,
)

MAX_SLUG = 63


def slugify(name: str) -> str:
    """A URL-safe slug of a name: ASCII letters and digits, words joined by hyphens."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:MAX_SLUG].rstrip("-") or "org"


class OrgService(Service[Organisation, OrgCreate, OrgUpdate]):
    """Organisations: whoever creates one is its first owner; members see it, owners delete it
    with everything it owns."""

    not_found_message = "Organisation not found"

    def __init__(
        self,
        repository: OrgRepository,
        members: MemberRepository,
        roles: OrgRoleRepository,
        *,
        require_if_match: bool,
        audit: AuditLog,
    ):
        super().__init__(repository, require_if_match=require_if_match)
        self.orgs = repository
        self.members = members
        self.roles = roles
        self.audit = audit

    async def create(self, user: User, data: OrgCreate) -> Organisation:
        slug = data.slug or await self._free_slug(slugify(data.name))
        org = await self.orgs.create(name=data.name, slug=slug)
        await self.members.add(org.id, user.id, await self.roles.named(org.id, [OWNER]))
        details = {"name": org.name, "slug": org.slug}
        await self.audit.record(
            ORG_CREATED, actor_id=user.id, org_id=org.id, target=_org(org), details=details
        )
        return org

    async def list_for(
        self, user: User, filters: OrgFilter, page: PageRequest
    ) -> PageResult[Organisation]:
        return await self.orgs.list_for_member(user.id, filters, page)

    async def get(self, member: OrgMember) -> Organisation:
        return self.found_or_404(await self.orgs.get(member.org_id))

    async def update(
        self, member: OrgMember, data: OrgUpdate, *, if_match: IfMatch | None
    ) -> Organisation:
        org = await self.get(member)
        expected = self.expected_version(org.version, if_match)
        updated = self.written_or_412(
            await self.orgs.change(org, data, expected_version=expected), expected
        )
        details = {"changed": sorted(data.model_dump(exclude_unset=True))}
        await self.audit.record_in_org(ORG_UPDATED, member, target=_org(org), details=details)
        return updated

    async def delete(self, member: OrgMember) -> None:
        org = await self.get(member)
        await self.orgs.delete(org)
        details = {"name": org.name, "slug": org.slug}
        await self.audit.record_in_org(ORG_DELETED, member, target=_org(org), details=details)

    async def _free_slug(self, slug: str) -> str:
        """`slug`, or with a random suffix when another organisation has it."""
        while await self.orgs.slug_taken(slug):
            suffix = secrets.token_hex(3)
            slug = f"{slug[: MAX_SLUG - len(suffix) - 1].rstrip('-')}-{suffix}"
        return slug


class MemberService:
    """Who belongs to an organisation, and with which roles. Nobody hands out, or takes away,
    a role granting what they do not hold, nor changes a member who holds more than they do
    (so only owners make or unmake owners). One owner always remains: every change of roles
    locks the organisation first and re-reads what the actor holds, so two owners removing
    each other at once cannot both succeed."""

    def __init__(
        self,
        orgs: OrgRepository,
        members: MemberRepository,
        roles: OrgRoleRepository,
        *,
        audit: AuditLog,
    ):
        self.orgs = orgs
        self.members = members
        self.roles = roles
        self.audit = audit

    async def list_in(
        self, member: OrgMember, filters: MemberFilter, page: PageRequest
    ) -> PageResult[Membership]:
        return await self.members.list_in(member.org_id, filters, page)

    async def set_roles(
        self, actor: OrgMember, user_id: uuid.UUID, data: MemberRolesUpdate
    ) -> Membership:
        held = await self._lock(actor)
        target = await self._member(actor.org_id, user_id)
        wanted = await self._roles(actor.org_id, data.roles)
        changed = {role.name for role in wanted} ^ set(target.roles)
        for role in await self.roles.named(actor.org_id, changed):
            _may_hand_out(held, role.permissions)
        await self._may_change(held, actor.org_id, target)
        if OWNER in changed and not actor.recently_authenticated:
            raise ReauthRequiredError()  # handing over (or sharing) the organisation
        if OWNER in target.roles and OWNER not in {role.name for role in wanted}:
            await self._keep_an_owner(actor.org_id, target)
        await self.members.set_roles(target, wanted)
        details = {"roles": sorted(role.name for role in wanted)}
        await self.audit.record_in_org(
            MEMBER_ROLES_CHANGED, actor, subject_id=user_id, target=_user(user_id), details=details
        )
        return target

    async def remove(self, actor: OrgMember, user_id: uuid.UUID) -> None:
        """Removes a member; removing oneself is leaving, which needs no permission."""
        held = await self._lock(actor)
        target = await self._member(actor.org_id, user_id)
        if user_id != actor.id:
            if not allows(held, MEMBERS_MANAGE):
                raise PermissionDeniedError(MEMBERS_MANAGE)
            await self._may_change(held, actor.org_id, target)
        if OWNER in target.roles:
            await self._keep_an_owner(actor.org_id, target)
        await self.members.remove(target)
        details = {"left": user_id == actor.id}
        await self.audit.record_in_org(
            MEMBER_REMOVED, actor, subject_id=user_id, target=_user(user_id), details=details
        )

    async def _lock(self, actor: OrgMember) -> frozenset[str]:
        """Lock the organisation; what the actor holds in it now, under the lock (a key's
        scopes do not change)."""
        await self.orgs.lock(actor.org_id)
        if actor.user is None:
            return actor.permissions
        held = await self.members.permissions(actor.org_id, actor.id)
        if held is None:
            raise NotFoundError("Organisation not found")
        return held

    async def _member(self, org_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
        membership = await self.members.find(org_id, user_id)
        if membership is None:
            raise NotFoundError("Member not found")
        return membership

    async def _roles(self, org_id: uuid.UUID, names: list[str]) -> list[OrgRole]:
        roles = await self.roles.named(org_id, names)
        if unknown := sorted(set(names) - {role.name for role in roles}):
            raise InvalidInputError(f"No role named {unknown[0]}", loc=["body", "roles"])
        return roles

    async def _may_change(
        self, held: frozenset[str], org_id: uuid.UUID, target: Membership
    ) -> None:
        if not covers(held, await self.members.permissions(org_id, target.user_id) or ()):
            raise ForbiddenError("You cannot change members who hold permissions you do not")

    async def _keep_an_owner(self, org_id: uuid.UUID, target: Membership) -> None:
        if not await self.members.owner_ids(org_id) - {target.user_id}:
            raise ConflictError(
                "An organisation keeps at least one owner: make another member owner first"
            )


class OrgRoleService:
    """An organisation's own roles, beside the built-in ones (which are the same everywhere and
    cannot change). Nobody makes, changes or deletes a role granting what they do not hold; a
    change reaches the role's holders on their next request."""

    def __init__(self, roles: OrgRoleRepository, *, audit: AuditLog):
        self.roles = roles
        self.audit = audit

    async def list_in(self, member: OrgMember) -> list[OrgRole]:
        return await self.roles.list_in(member.org_id)

    async def get(self, member: OrgMember, role_id: uuid.UUID) -> OrgRole:
        role = await self.roles.get_in(member.org_id, role_id)
        if role is None:
            raise NotFoundError("Role not found")
        return role

    async def create(self, actor: OrgMember, data: OrgRoleCreate) -> OrgRole:
        if data.name in BUILT_IN_ORG_ROLES:
            raise AlreadyExistsError(f"{data.name} is a built-in role")
        _may_hand_out(actor.permissions, data.permissions)
        role = await self.roles.create(
            org_id=actor.org_id, name=data.name, description=data.description
        )
        await self.roles.set_permissions(role, data.permissions)
        details = {"name": role.name, "permissions": sorted(data.permissions)}
        await self._record(ORG_ROLE_CREATED, actor, role, details)
        return role

    async def update(self, actor: OrgMember, role_id: uuid.UUID, data: OrgRoleUpdate) -> OrgRole:
        role = await self._own(actor, role_id)
        values = data.model_dump(exclude_unset=True)
        permissions = values.pop("permissions", None)
        if values.get("name") in BUILT_IN_ORG_ROLES:
            raise AlreadyExistsError(f"{values['name']} is a built-in role")
        if permissions is not None:
            _may_hand_out(actor.permissions, permissions)
            await self.roles.set_permissions(role, permissions)
        updated = await self.roles.rename(role, values or {"updated_at": utcnow()})
        if updated is None:
            raise NotFoundError("Role not found")
        details: dict[str, object] = {"name": updated.name, "changed": sorted(values)}
        if permissions is not None:
            details["permissions"] = sorted(permissions)
        await self._record(ORG_ROLE_UPDATED, actor, updated, details)
        return updated

    async def delete(self, actor: OrgMember, role_id: uuid.UUID) -> None:
        role = await self._own(actor, role_id)
        await self.roles.delete(role)
        await self._record(ORG_ROLE_DELETED, actor, role, {"name": role.name})

    async def _record(
        self, action: str, actor: OrgMember, role: OrgRole, details: Mapping[str, object]
    ) -> None:
        target = Target("org_role", role.id)
        await self.audit.record_in_org(action, actor, target=target, details=details)

    async def _own(self, actor: OrgMember, role_id: uuid.UUID) -> OrgRole:
        """A role of the organisation's own that the actor may change."""
        role = await self.get(actor, role_id)
        if role.built_in:
            raise ConflictError("Built-in roles are the same in every organisation")
        _may_hand_out(actor.permissions, role.permissions)
        return role


def _may_hand_out(held: frozenset[str], permissions: list[str]) -> None:
    if not covers(held, permissions):
        raise PermissionDeniedError(sorted(set(permissions) - held)[0])


def _org(org: Organisation) -> Target:
    return Target("organisation", org.id)


def _user(user_id: uuid.UUID) -> Target:
    return Target("user", user_id)
