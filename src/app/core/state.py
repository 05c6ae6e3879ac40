"""What the app keeps for every request on `app.state`, typed: the shared part. The app's own
`AppState` (`app/state.py`) adds what its features keep there."""

import re
from collections.abc import Awaitable, Callable
from typing import Any, cast

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.datastructures import State
from starlette.requests import HTTPConnection

from app.core.config import Settings
from app.core.metrics import Metrics
from app.core.pagination import CursorCodec
from app.core.request import Clock

# What a feature does once a unit of work committed, given the values noted for its effect.
AfterCommit = Callable[[set[Any]], Awaitable[None]]


class CoreState(State):
    """Set by `create_app` (settings, clock, codec, metrics, hooks) and by the lifespan (the
    engine and its sessions). Attribute access stays Starlette's; the annotations type it."""

    settings: Settings
    clock: Clock
    cursor_codec: CursorCodec
    metrics: Metrics
    engine: AsyncEngine
    sessionmaker: async_sessionmaker[AsyncSession]
    # PostgreSQL's sessions for safe methods (no BEGIN/COMMIT); None on SQLite.
    read_sessionmaker: async_sessionmaker[AsyncSession] | None
    # Whether row-level security binds the app's database role (`app.core.tenancy`); None
    # until the first request inside an organisation asks.
    row_security: bool | None
    after_commit: dict[str, AfterCommit]
    # Each path's methods, for `Allow` on a 405 (built on first use).
    allow_table: list[tuple[re.Pattern[str], list[str]]] | None


def core_state(connection: HTTPConnection) -> CoreState:
    """The state of the app serving `connection` (a request or a websocket)."""
    app: Any = connection.app
    return cast(CoreState, app.state)
