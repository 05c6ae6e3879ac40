"""Races settled by constraints, with real commits."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.identity.models import User
from tests.users.factories import DEFAULT_PASSWORD, unique_email


@pytest.fixture
async def email(engine: AsyncEngine) -> AsyncIterator[str]:
    address = unique_email()
    yield address
    async with engine.begin() as connection:
        await connection.execute(delete(User).where(User.email == address))


class TestConcurrentRegistration:
    async def test_eight_at_once_yield_one_account(
        self, committing_client: AsyncClient, engine: AsyncEngine, email: str
    ) -> None:
        body = {"email": email, "password": DEFAULT_PASSWORD}

        responses = await asyncio.gather(
            *(committing_client.post("/api/v1/auth/register", json=body) for _ in range(8))
        )

        codes = sorted(response.status_code for response in responses)
        assert codes == [201] + [409] * 7
        conflicts = [r.json()["error_code"] for r in responses if r.status_code == 409]
        assert set(conflicts) == {"ALREADY_EXISTS"}
        async with engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).select_from(User).where(User.email == email)
            )
        assert count == 1
