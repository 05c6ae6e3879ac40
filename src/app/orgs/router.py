"""Organisations, their members (`/orgs/{org_id}/members`) and their roles
(`/orgs/{org_id}/roles`)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from app.core.errors import (
    AlreadyExistsError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    PreconditionRequiredError,
    ReauthRequiredError,
    UnauthorizedError,
    error_responses,
)
from app.core.etag import etag
from app.core.pagination import PageResult
from app.core.request import IfMatchDep, location
from app.identity.credentials import OrgMember
from app.identity.models import Membership, Organisation, OrgRole, User
from app.orgs.dependencies import MemberServiceDep, OrgRoleServiceDep, OrgServiceDep, require_org
from app.orgs.filters import MemberListQuery, OrgListQuery
from app.orgs.permissions import (
    MEMBERS_MANAGE,
    MEMBERS_READ,
    ORGS_CREATE,
    ORGS_DELETE,
    ORGS_READ,
    ORGS_UPDATE,
)
from app.orgs.schemas import (
    MemberPage,
    MemberRead,
    MemberRolesUpdate,
    OrgCreate,
    OrgPage,
    OrgRead,
    OrgRoleCreate,
    OrgRoleRead,
    OrgRoleUpdate,
    OrgUpdate,
)
from app.sessions.dependencies import require
from app.users.permissions import ACCOUNT_READ

router = APIRouter(
    prefix="/orgs",
    tags=["organisations"],
    responses=error_responses(UnauthorizedError, PermissionDeniedError),
)
ORG = "/{org_id:uuid}"
MEMBER = f"{ORG}/members/{{user_id:uuid}}"
ROLE = f"{ORG}/roles/{{role_id:uuid}}"
in_org_errors = error_responses(NotFoundError)
write_errors = error_responses(
    NotFoundError, ConflictError, PreconditionFailedError, PreconditionRequiredError
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=OrgRead,
    responses=error_responses(AlreadyExistsError),
)
async def create_org(
    data: OrgCreate,
    user: Annotated[User, require(ORGS_CREATE)],
    orgs: OrgServiceDep,
    request: Request,
    response: Response,
) -> Organisation:
    """Create an organisation; the caller becomes its owner."""
    org = await orgs.create(user, data)
    response.headers["Location"] = location(request, "get_org", org_id=org.id)
    response.headers["ETag"] = etag(org.version)
    return org


@router.get("", response_model=OrgPage)
async def list_orgs(
    user: Annotated[User, require(ACCOUNT_READ)], orgs: OrgServiceDep, query: OrgListQuery
) -> PageResult[Organisation]:
    """The organisations the caller is a member of, filtered and paged."""
    return query.signed(await orgs.list_for(user, query.filters, query.page))


@router.get(ORG, response_model=OrgRead, responses=in_org_errors)
async def get_org(
    member: Annotated[OrgMember, require_org(ORGS_READ)], orgs: OrgServiceDep, response: Response
) -> Organisation:
    """One organisation the caller is a member of, with its `ETag`."""
    org = await orgs.get(member)
    response.headers["ETag"] = etag(org.version)
    return org


@router.patch(ORG, response_model=OrgRead, responses=write_errors)
async def update_org(
    data: OrgUpdate,
    member: Annotated[OrgMember, require_org(ORGS_UPDATE)],
    orgs: OrgServiceDep,
    response: Response,
    if_match: IfMatchDep,
) -> Organisation:
    """Rename the organisation or change its slug. With `If-Match`, 412 if it changed since."""
    org = await orgs.update(member, data, if_match=if_match)
    response.headers["ETag"] = etag(org.version)
    return org


@router.delete(
    ORG, status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(NotFoundError)
)
async def delete_org(
    member: Annotated[OrgMember, require_org(ORGS_DELETE)], orgs: OrgServiceDep
) -> None:
    """Delete the organisation for good, with everything it owns: its data, memberships,
    invitations, roles and keys."""
    await orgs.delete(member)


@router.get(f"{ORG}/members", response_model=MemberPage, responses=in_org_errors)
async def list_members(
    member: Annotated[OrgMember, require_org(MEMBERS_READ)],
    members: MemberServiceDep,
    query: MemberListQuery,
) -> PageResult[Membership]:
    """The organisation's members with their roles, by when they joined."""
    return query.signed(await members.list_in(member, query.filters, query.page))


@router.patch(
    MEMBER,
    response_model=MemberRead,
    responses=error_responses(
        ForbiddenError, PermissionDeniedError, ReauthRequiredError, NotFoundError, ConflictError
    ),
)
async def update_member(
    user_id: uuid.UUID,
    data: MemberRolesUpdate,
    actor: Annotated[OrgMember, require_org(MEMBERS_MANAGE)],
    members: MemberServiceDep,
) -> Membership:
    """Set the roles a member holds. Only who holds every permission involved may do it (only
    owners make or unmake owners); one owner always remains. Making or unmaking an owner needs
    a sign-in or `POST /auth/reauth` within `REAUTH_WINDOW`."""
    return await members.set_roles(actor, user_id, data)


@router.delete(
    MEMBER,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(ForbiddenError, PermissionDeniedError, NotFoundError, ConflictError),
)
async def remove_member(
    user_id: uuid.UUID,
    actor: Annotated[OrgMember, require_org()],
    members: MemberServiceDep,
) -> None:
    """Remove a member (`members:manage`), or leave: removing oneself needs no permission.
    The last owner can do neither."""
    await members.remove(actor, user_id)


@router.get(f"{ORG}/roles", response_model=list[OrgRoleRead], responses=in_org_errors)
async def list_org_roles(
    member: Annotated[OrgMember, require_org(MEMBERS_READ)], roles: OrgRoleServiceDep
) -> list[OrgRole]:
    """The built-in roles and the organisation's own, with what they grant."""
    return await roles.list_in(member)


@router.post(
    f"{ORG}/roles",
    status_code=status.HTTP_201_CREATED,
    response_model=OrgRoleRead,
    responses=error_responses(NotFoundError, AlreadyExistsError),
)
async def create_org_role(
    data: OrgRoleCreate,
    actor: Annotated[OrgMember, require_org(MEMBERS_MANAGE)],
    roles: OrgRoleServiceDep,
    request: Request,
    response: Response,
) -> OrgRole:
    """A role of the organisation's own; it may grant only what the caller holds there."""
    role = await roles.create(actor, data)
    response.headers["Location"] = location(
        request, "get_org_role", org_id=actor.org_id, role_id=role.id
    )
    return role


@router.get(ROLE, response_model=OrgRoleRead, responses=in_org_errors)
async def get_org_role(
    role_id: uuid.UUID,
    member: Annotated[OrgMember, require_org(MEMBERS_READ)],
    roles: OrgRoleServiceDep,
) -> OrgRole:
    """One role the organisation has."""
    return await roles.get(member, role_id)


@router.patch(
    ROLE,
    response_model=OrgRoleRead,
    responses=error_responses(NotFoundError, ConflictError, AlreadyExistsError),
)
async def update_org_role(
    role_id: uuid.UUID,
    data: OrgRoleUpdate,
    actor: Annotated[OrgMember, require_org(MEMBERS_MANAGE)],
    roles: OrgRoleServiceDep,
) -> OrgRole:
    """Rename one of the organisation's roles or change what it grants; its holders' next
    requests see the change. Built-in roles do not change."""
    return await roles.update(actor, role_id, data)


@router.delete(
    ROLE,
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(NotFoundError, ConflictError),
)
async def delete_org_role(
    role_id: uuid.UUID,
    actor: Annotated[OrgMember, require_org(MEMBERS_MANAGE)],
    roles: OrgRoleServiceDep,
) -> None:
    """Delete one of the organisation's roles; its holders lose what it granted."""
    await roles.delete(actor, role_id)
