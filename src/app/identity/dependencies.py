from typing import Annotated

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import SessionDep
from app.identity.repository import UserRecords
from app.identity.service import UserDirectory


def build_user_directory(session: AsyncSession) -> UserDirectory:
    """Also for code outside a request (the CLI)."""
    return UserDirectory(UserRecords(session))


async def get_user_directory(session: SessionDep) -> UserDirectory:
    return build_user_directory(session)


UserDirectoryDep = Annotated[UserDirectory, Depends(get_user_directory)]
