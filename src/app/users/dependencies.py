from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import SessionDep
from app.sessions.dependencies import SessionServiceDep, build_session_service
from app.users.repository import UserRepository
from app.users.service import UserService


def build_user_service(session: AsyncSession, settings: Settings) -> UserService:
    """For code outside a request (the CLI)."""
    return UserService(UserRepository(session), sessions=build_session_service(session, settings))


async def get_user_service(session: SessionDep, sessions: SessionServiceDep) -> UserService:
    return UserService(UserRepository(session), sessions=sessions)


UserServiceDep = Annotated[UserService, Depends(get_user_service)]
