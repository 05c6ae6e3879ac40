from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


class HealthRepository:
    """The database side of readiness."""

    def __init__(self, session: AsyncSession):
        self.session = session

    async def ping(self) -> None:
        await self.session.execute(text("SELECT 1"))
