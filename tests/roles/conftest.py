"""Fixtures of these tests."""

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.users.factories import SignedIn, signed_in


@pytest.fixture
async def admin(client: AsyncClient, session: AsyncSession) -> SignedIn:
    """A holder of `admin` and the headers of one of their sessions."""
    return await signed_in(client, session, is_superuser=True)
