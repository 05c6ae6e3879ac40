"""Sessions of the signed-in user: list, revoke one, log out, log out everywhere."""

import uuid
from typing import Annotated

from fastapi import APIRouter, status

from app.core.errors import (
    NotFoundError,
    PermissionDeniedError,
    UnauthorizedError,
    error_responses,
)
from app.identity.models import UserSession
from app.identity.permissions import ACCOUNT_MANAGE
from app.sessions.dependencies import CurrentUserSession, UserSessionServiceDep, require_session
from app.sessions.schemas import SessionRead

router = APIRouter(prefix="/auth", tags=["auth"], responses=error_responses(UnauthorizedError))
# Logging out needs no permission: whoever holds a session token may always end it.
Manager = Annotated[UserSession, require_session(ACCOUNT_MANAGE)]
manage_errors = error_responses(PermissionDeniedError)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(current: CurrentUserSession, user_sessions: UserSessionServiceDep) -> None:
    """Revoke the token of this request."""
    await user_sessions.log_out(current)


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT)
async def logout_all(current: CurrentUserSession, user_sessions: UserSessionServiceDep) -> None:
    """Revoke every session of the signed-in user, this one included, and every link mailed
    to them that is still pending (password reset, email change, verification)."""
    await user_sessions.sign_out_everywhere(current.user_id)


@router.get("/sessions", response_model=list[SessionRead], responses=manage_errors)
async def list_sessions(
    current: Manager, user_sessions: UserSessionServiceDep
) -> list[SessionRead]:
    """The signed-in user's active sessions; `current` marks the one of this request."""
    live = await user_sessions.list_live(current.user_id)
    return [
        SessionRead.model_validate(item).model_copy(update={"current": item.id == current.id})
        for item in live
    ]


@router.delete(
    "/sessions/{session_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(PermissionDeniedError, NotFoundError),
)
async def revoke_session(
    session_id: uuid.UUID, current: Manager, user_sessions: UserSessionServiceDep
) -> None:
    """Revoke one of the signed-in user's sessions; another user's session id is a 404."""
    await user_sessions.revoke(current.user_id, session_id)
