"""Reading sessions back in tests."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import User, UserSession


async def stored_sessions(session: AsyncSession, user: User) -> list[UserSession]:
    result = await session.execute(select(UserSession).where(UserSession.user_id == user.id))
    return list(result.scalars())
