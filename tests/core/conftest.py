from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from app.core.errors import COMMON_ERROR_RESPONSES
from tests.core import notes


@pytest.fixture
async def notes_app(app: FastAPI, connection: AsyncConnection) -> FastAPI:
    """The app with the test-only notes feature; its table lives in the test's transaction."""
    await notes.create_tables(connection)
    app.include_router(notes.router, responses=COMMON_ERROR_RESPONSES)
    return app


@pytest.fixture
async def notes_client(notes_app: FastAPI, client: AsyncClient) -> AsyncClient:
    return client


@pytest.fixture
async def committing_notes_client(
    committing_app: FastAPI, committing_client: AsyncClient, engine: AsyncEngine
) -> AsyncIterator[AsyncClient]:
    """Notes over real commits; the table is dropped afterwards."""
    async with engine.begin() as connection:
        await notes.create_tables(connection)
    committing_app.include_router(notes.router, responses=COMMON_ERROR_RESPONSES)
    yield committing_client
    async with engine.begin() as connection:
        await notes.drop_tables(connection)
