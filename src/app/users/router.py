"""The signed-in user's profile, and user administration for superusers."""

import uuid

from fastapi import APIRouter, status

from app.core.errors import ForbiddenError, NotFoundError, UnauthorizedError, error_responses
from app.core.pagination import PageResult
from app.sessions.dependencies import CurrentUser, Superuser
from app.users.dependencies import UserServiceDep
from app.users.filters import UserListQuery
from app.users.models import User
from app.users.schemas import UserAdminUpdate, UserPage, UserRead, UserUpdateMe

router = APIRouter(prefix="/users", tags=["users"], responses=error_responses(UnauthorizedError))
admin_errors = error_responses(ForbiddenError)


@router.get("/me", response_model=UserRead)
async def read_me(user: CurrentUser) -> User:
    """The signed-in user."""
    return user


@router.patch("/me", response_model=UserRead)
async def update_me(data: UserUpdateMe, user: CurrentUser, users: UserServiceDep) -> User:
    """Update the signed-in user's profile."""
    return await users.update_me(user, data)


@router.get("", response_model=UserPage, responses=admin_errors)
async def list_users(
    _admin: Superuser, users: UserServiceDep, query: UserListQuery
) -> PageResult[User]:
    """Users, filtered and paged (superusers only)."""
    return query.signed(await users.list_page(query.filters, query.page))


@router.get(
    "/{user_id:uuid}",
    response_model=UserRead,
    responses=error_responses(ForbiddenError, NotFoundError),
)
async def read_user(user_id: uuid.UUID, _admin: Superuser, users: UserServiceDep) -> User:
    """One user (superusers only)."""
    return await users.get(user_id)


@router.patch(
    "/{user_id:uuid}",
    response_model=UserRead,
    responses=error_responses(ForbiddenError, NotFoundError),
)
async def update_user(
    user_id: uuid.UUID, data: UserAdminUpdate, admin: Superuser, users: UserServiceDep
) -> User:
    """Change a user's name, activity or superuser flag; deactivation revokes their sessions."""
    return await users.update(admin, user_id, data)


@router.delete(
    "/{user_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(ForbiddenError, NotFoundError),
)
async def delete_user(user_id: uuid.UUID, admin: Superuser, users: UserServiceDep) -> None:
    """Soft-delete a user and revoke all of their sessions (superusers only)."""
    await users.delete(admin, user_id)
