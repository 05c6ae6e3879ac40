"""The signed-in user's profile, and user administration (`users:admin`)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from app.core.errors import (
    ForbiddenError,
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
    error_responses,
)
from app.core.pagination import PageResult
from app.identity.models import User
from app.sessions.dependencies import require
from app.users.dependencies import UserServiceDep
from app.users.filters import UserListQuery
from app.users.permissions import ACCOUNT_READ, ACCOUNT_WRITE, USERS_ADMIN
from app.users.schemas import UserAdminUpdate, UserPage, UserRead, UserUpdateMe

router = APIRouter(
    prefix="/users",
    tags=["users"],
    responses=error_responses(UnauthorizedError, PermissionDeniedError),
)
Admin = Annotated[User, require(USERS_ADMIN)]
admin_errors = error_responses(ForbiddenError, PermissionDeniedError, NotFoundError)


@router.get("/me", response_model=UserRead)
async def read_me(user: Annotated[User, require(ACCOUNT_READ)]) -> User:
    """The signed-in user."""
    return user


@router.patch("/me", response_model=UserRead)
async def update_me(
    data: UserUpdateMe, user: Annotated[User, require(ACCOUNT_WRITE)], users: UserServiceDep
) -> User:
    """Update the signed-in user's profile."""
    return await users.update_me(user, data)


@router.get("", response_model=UserPage)
async def list_users(
    _admin: Admin, users: UserServiceDep, query: UserListQuery
) -> PageResult[User]:
    """Users, filtered and paged."""
    return query.signed(await users.list_page(query.filters, query.page))


@router.get(
    "/{user_id:uuid}",
    response_model=UserRead,
    responses=error_responses(NotFoundError),
)
async def read_user(user_id: uuid.UUID, _admin: Admin, users: UserServiceDep) -> User:
    """One user."""
    return await users.get(user_id)


@router.patch(
    "/{user_id:uuid}",
    response_model=UserRead,
    responses=admin_errors,
)
async def update_user(
    user_id: uuid.UUID, data: UserAdminUpdate, admin: Admin, users: UserServiceDep
) -> User:
    """Change a user's name, activity or superuser flag (the `admin` role); deactivation
    revokes their sessions. Only a user holding every permission of another may change them."""
    return await users.update(admin, user_id, data)


@router.delete(
    "/{user_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=admin_errors,
)
async def delete_user(user_id: uuid.UUID, admin: Admin, users: UserServiceDep) -> None:
    """Soft-delete a user and revoke all of their sessions."""
    await users.delete(admin, user_id)
