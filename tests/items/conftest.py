"""Fixtures of these tests."""

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.users.factories import SignedIn, signed_in


@pytest.fixture
async def owner(client: AsyncClient, session: AsyncSession) -> SignedIn:
    return await signed_in(client, session)
