"""The database sessions the console's pages use: the app's, which its lifespan makes after
the console is mounted."""

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.state import AppState


class StateSessions(async_sessionmaker[AsyncSession]):
    """An `async_sessionmaker` (so starlette-admin runs its async path) that hands out the
    app's own sessions, with their engine, pool and SQLite settings."""

    def __init__(self, state: AppState):
        super().__init__()
        self.state = state

    def __call__(self, **local_kw: Any) -> AsyncSession:
        return self.state.sessionmaker(**local_kw)
