from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import SessionDep
from app.roles.dependencies import build_role_service
from app.sessions.dependencies import UserSessionServiceDep, build_user_session_service
from app.users.repository import UserRepository
from app.users.service import UserService


def build_user_service(session: AsyncSession, settings: Settings) -> UserService:
    """For code outside a request (the CLI)."""
    return UserService(
        UserRepository(session),
        user_sessions=build_user_session_service(session, settings),
        roles=build_role_service(session),
    )


async def get_user_service(
    session: SessionDep, user_sessions: UserSessionServiceDep
) -> UserService:
    return UserService(
        UserRepository(session), user_sessions=user_sessions, roles=build_role_service(session)
    )


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
