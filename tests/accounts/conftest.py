"""Fixtures of these tests: users made through the API with real commits (the outbox is
drained only of committed mail), removed afterwards with their mail."""

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.identity.models import User
from app.mail.models import OutboxMessage
from tests.conftest import http_client, running_app
from tests.users.factories import DEFAULT_PASSWORD, unique_email

Register = Callable[[], Awaitable[str]]


@pytest.fixture
async def mailing_app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The app on its own engine (real commits), delivering the mail it queues."""
    async with running_app(settings.model_copy(update={"jobs_worker": True})) as application:
        yield application


@pytest.fixture
async def client(mailing_app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with http_client(mailing_app) as client:
        yield client


@contextlib.asynccontextmanager
async def registering(client: AsyncClient, engine: AsyncEngine) -> AsyncIterator[Register]:
    """Registers new accounts (committed) through this client; removes them and their mail."""
    emails: list[str] = []

    async def make() -> str:
        email = unique_email()
        emails.append(email)
        body = {"email": email, "password": DEFAULT_PASSWORD}
        response = await client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 201, response.text
        return email

    try:
        yield make
    finally:
        async with engine.begin() as connection:
            await connection.execute(delete(User).where(User.email.in_(emails)))
            sent_them = OutboxMessage.recipient.in_(emails)
            await connection.execute(delete(OutboxMessage).where(sent_them))


@pytest.fixture
async def register(client: AsyncClient, engine: AsyncEngine) -> AsyncIterator[Register]:
    """Registers a new account (committed) and gives its email."""
    async with registering(client, engine) as make:
        yield make
