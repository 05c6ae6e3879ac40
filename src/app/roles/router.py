"""Roles, the permissions they grant, and who holds them (`roles:admin`)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Request, Response, status

from app.core.errors import (
    AlreadyExistsError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PermissionDeniedError,
    ReauthRequiredError,
    UnauthorizedError,
    error_responses,
)
from app.core.permissions import Permission, declared
from app.core.request import location
from app.identity.dependencies import UserDirectoryDep
from app.identity.models import Role, User
from app.roles.dependencies import RoleServiceDep
from app.roles.permissions import ROLES_ADMIN
from app.roles.schemas import PermissionRead, RoleCreate, RoleRead, RoleUpdate
from app.sessions.dependencies import require, require_recent

router = APIRouter(
    tags=["roles"], responses=error_responses(UnauthorizedError, PermissionDeniedError)
)
Admin = Annotated[User, require(ROLES_ADMIN)]
RecentAdmin = Annotated[User, require_recent(ROLES_ADMIN)]
by_id_errors = error_responses(NotFoundError)
write_errors = error_responses(ForbiddenError, PermissionDeniedError, NotFoundError, ConflictError)
grant_errors = error_responses(
    ForbiddenError, PermissionDeniedError, ReauthRequiredError, NotFoundError, ConflictError
)


@router.get("/permissions", response_model=list[PermissionRead])
async def list_permissions(_admin: Admin) -> list[Permission]:
    """Every permission a role can grant."""
    return list(declared().values())


@router.get("/roles", response_model=list[RoleRead])
async def list_roles(_admin: Admin, roles: RoleServiceDep) -> list[Role]:
    """Every role, by name."""
    return await roles.list_all()


@router.post(
    "/roles",
    status_code=status.HTTP_201_CREATED,
    response_model=RoleRead,
    responses=error_responses(AlreadyExistsError),
)
async def create_role(
    data: RoleCreate, admin: Admin, roles: RoleServiceDep, request: Request, response: Response
) -> Role:
    """A new role; it may grant only permissions the caller holds."""
    role = await roles.create(admin, data)
    response.headers["Location"] = location(request, "get_role", role_id=role.id)
    return role


@router.get("/roles/{role_id:uuid}", response_model=RoleRead, responses=by_id_errors)
async def get_role(role_id: uuid.UUID, _admin: Admin, roles: RoleServiceDep) -> Role:
    """One role."""
    return await roles.get(role_id)


@router.patch("/roles/{role_id:uuid}", response_model=RoleRead, responses=write_errors)
async def update_role(
    role_id: uuid.UUID, data: RoleUpdate, admin: Admin, roles: RoleServiceDep
) -> Role:
    """Rename a role or change what it grants; its holders' next requests see the change.
    Built-in roles keep their names, and `admin` every permission."""
    return await roles.update(admin, role_id, data)


@router.delete(
    "/roles/{role_id:uuid}", status_code=status.HTTP_204_NO_CONTENT, responses=write_errors
)
async def delete_role(role_id: uuid.UUID, admin: Admin, roles: RoleServiceDep) -> None:
    """Delete a role; its holders lose what it granted. Built-in roles stay."""
    await roles.delete(admin, role_id)


@router.put(
    "/users/{user_id:uuid}/roles/{role_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=grant_errors,
)
async def grant_role(
    user_id: uuid.UUID,
    role_id: uuid.UUID,
    admin: RecentAdmin,
    roles: RoleServiceDep,
    users: UserDirectoryDep,
) -> None:
    """Give a user a role (again: nothing changes). A session needs a recent sign-in or
    `POST /auth/reauth` (`REAUTH_WINDOW`)."""
    await roles.grant(admin, await users.get(user_id), role_id)


@router.delete(
    "/users/{user_id:uuid}/roles/{role_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=grant_errors,
)
async def revoke_role(
    user_id: uuid.UUID,
    role_id: uuid.UUID,
    admin: RecentAdmin,
    roles: RoleServiceDep,
    users: UserDirectoryDep,
) -> None:
    """Take a role from a user; the last active `admin` keeps theirs."""
    await roles.take_back(admin, await users.get(user_id), role_id)
