"""Personal API keys: create, list and revoke one's own (signed in with a password), and any
user's list and revocation for administrators (`api_keys:admin`)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from app.api_keys.dependencies import ApiKeyServiceDep
from app.api_keys.permissions import API_KEYS_ADMIN
from app.api_keys.schemas import ApiKeyCreate, ApiKeyCreated, ApiKeyRead
from app.core.errors import (
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ReauthRequiredError,
    UnauthorizedError,
    error_responses,
)
from app.identity.dependencies import UserDirectoryDep
from app.identity.models import ApiKey, User, UserSession
from app.identity.permissions import ACCOUNT_MANAGE
from app.sessions.dependencies import require, require_recent_session, require_session

router = APIRouter(
    tags=["api keys"],
    responses=error_responses(UnauthorizedError, ForbiddenError, PermissionDeniedError),
)
Owner = Annotated[UserSession, require_session(ACCOUNT_MANAGE)]
RecentOwner = Annotated[UserSession, require_recent_session(ACCOUNT_MANAGE)]
Admin = Annotated[User, require(API_KEYS_ADMIN)]
not_found = error_responses(NotFoundError)


@router.post(
    "/auth/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=ApiKeyCreated,
    responses=error_responses(
        InvalidInputError, PermissionDeniedError, ReauthRequiredError, RateLimitedError
    ),
)
async def create_api_key(
    data: ApiKeyCreate, owner: RecentOwner, keys: ApiKeyServiceDep
) -> ApiKeyCreated:
    """A key for machines, acting as the caller with at most `scopes` (permissions the caller
    holds, none personal). Needs a verified address and the caller's current password (wrong
    guesses count against the login limit). The key is in this answer only: store it now."""
    created = await keys.create_own(owner.user, data)
    return ApiKeyCreated(**ApiKeyRead.model_validate(created.record).model_dump(), key=created.key)


@router.get("/auth/api-keys", response_model=list[ApiKeyRead])
async def list_api_keys(owner: Owner, keys: ApiKeyServiceDep) -> list[ApiKey]:
    """The caller's keys (never the keys themselves)."""
    return await keys.list_for(owner.user_id)


@router.delete(
    "/auth/api-keys/{key_id:uuid}", status_code=status.HTTP_204_NO_CONTENT, responses=not_found
)
async def revoke_api_key(key_id: uuid.UUID, owner: Owner, keys: ApiKeyServiceDep) -> None:
    """Revoke one of the caller's keys, at once on every instance; another user's is a 404."""
    await keys.revoke(owner.user_id, key_id, actor_id=owner.user_id)


@router.get("/users/{user_id:uuid}/api-keys", response_model=list[ApiKeyRead], responses=not_found)
async def list_user_api_keys(
    user_id: uuid.UUID, _admin: Admin, keys: ApiKeyServiceDep, users: UserDirectoryDep
) -> list[ApiKey]:
    """Any user's keys."""
    return await keys.list_for((await users.get(user_id)).id)


@router.delete(
    "/users/{user_id:uuid}/api-keys/{key_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=not_found,
)
async def revoke_user_api_key(
    user_id: uuid.UUID, key_id: uuid.UUID, admin: Admin, keys: ApiKeyServiceDep
) -> None:
    """Revoke any user's key."""
    await keys.revoke(user_id, key_id, actor_id=admin.id)
