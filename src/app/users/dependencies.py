from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import SessionDep
from app.identity.dependencies import build_audit_log
from app.roles.dependencies import build_role_service
from app.sessions.dependencies import UserSessionServiceDep, build_user_session_service
from app.state import app_state
from app.users.repository import UserRepository
from app.users.service import UserService


def build_user_service(session: AsyncSession, settings: Settings) -> UserService:
    """For code outside a request (the CLI)."""
    return UserService(
        UserRepository(session),
        user_sessions=build_user_session_service(session, settings),
        roles=build_role_service(session),
        audit=build_audit_log(session),
    )


async def get_user_service(
    request: Request, session: SessionDep, user_sessions: UserSessionServiceDep
) -> UserService:
    clock = app_state(request).clock
    return UserService(
        UserRepository(session),
        user_sessions=user_sessions,
        roles=build_role_service(session, clock=clock),
        audit=build_audit_log(session, clock=clock),
    )


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
