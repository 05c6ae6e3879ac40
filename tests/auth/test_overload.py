"""A burst of logins or registrations beyond what the CPU can hash is shed, not queued forever."""

import asyncio

from httpx import AsyncClient, Response
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.users.models import User
from tests.conftest import http_client, running_app
from tests.users.factories import unique_email

REGISTER = "/api/v1/auth/register"


async def register_burst(settings: Settings, count: int) -> tuple[list[Response], list[str]]:
    """`count` registrations at once, with production Argon2 cost, one hash at a time and a
    20 ms wait allowed for a hashing slot; the emails are removed afterwards."""
    configured = settings.model_copy(
        update={
            "password_hash_time_cost": 3,
            "password_hash_memory_kib": 65536,
            "password_hash_concurrency": 1,
            "password_hash_queue_timeout": 0.02,
            "rate_limit_register_ip": "",
        }
    )
    emails = [unique_email() for _ in range(count)]
    async with running_app(configured) as application, http_client(application) as client:
        try:
            responses = await asyncio.gather(*(register(client, email) for email in emails))
        finally:
            async with application.state.sessionmaker.begin() as session:
                await session.execute(delete(User).where(User.email.in_(emails)))
    return list(responses), emails


async def register(client: AsyncClient, email: str) -> Response:
    return await client.post(REGISTER, json={"email": email, "password": "burst password 1"})


async def test_requests_waiting_too_long_for_a_hash_get_503_with_retry_after(
    settings: Settings, engine: AsyncEngine
) -> None:
    responses, _ = await register_burst(settings, 4)

    statuses = sorted(response.status_code for response in responses)
    shed = [response for response in responses if response.status_code == 503]
    assert statuses[0] == 201
    assert shed, statuses
    assert set(statuses) <= {201, 503}
    for response in shed:
        assert response.json()["error_code"] == "SERVICE_UNAVAILABLE"
        assert response.headers["Retry-After"] == str(settings.retry_after_seconds)
