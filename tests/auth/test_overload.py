"""A burst of logins or registrations beyond what the CPU can hash is shed, not queued forever."""

import asyncio
import time

from httpx import AsyncClient, Response
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.identity.models import User
from tests.conftest import http_client, running_app
from tests.users.factories import unique_email

REGISTER = "/api/v1/auth/register"


async def register_burst(
    settings: Settings, count: int, *, queue_timeout: float = 0.02, warm: bool = False
) -> list[tuple[Response, float]]:
    """`count` registrations at once (after one alone when `warm`), with production Argon2
    cost and one hash at a time; each answer with its seconds. The users are removed."""
    configured = settings.model_copy(
        update={
            "password_hash_time_cost": 3,
            "password_hash_memory_kib": 65536,
            "password_hash_concurrency": 1,
            "password_hash_queue_timeout": queue_timeout,
            "rate_limit_register_ip": "",
        }
    )
    emails = [unique_email() for _ in range(count + 1)]
    async with running_app(configured) as application, http_client(application) as client:
        try:
            if warm:
                assert (await register(client, emails[0]))[0].status_code == 201
            return await asyncio.gather(*(register(client, email) for email in emails[1:]))
        finally:
            async with application.state.sessionmaker.begin() as session:
                await session.execute(delete(User).where(User.email.in_(emails)))


async def register(client: AsyncClient, email: str) -> tuple[Response, float]:
    started = time.perf_counter()
    response = await client.post(REGISTER, json={"email": email, "password": "burst password 1"})
    return response, time.perf_counter() - started


async def test_requests_waiting_too_long_for_a_hash_get_503_with_retry_after(
    settings: Settings, engine: AsyncEngine
) -> None:
    responses = [response for response, _ in await register_burst(settings, 4)]

    statuses = sorted(response.status_code for response in responses)
    shed = [response for response in responses if response.status_code == 503]
    assert statuses[0] == 201
    assert shed, statuses
    assert set(statuses) <= {201, 503}
    for response in shed:
        assert response.json()["error_code"] == "SERVICE_UNAVAILABLE"
        assert response.headers["Retry-After"] == str(settings.retry_after_seconds)


async def test_a_request_that_could_not_get_a_slot_in_time_is_shed_at_once(
    settings: Settings, engine: AsyncEngine
) -> None:
    # One hash takes ~0.1-0.3 s here: 24 in a row cannot all start within 2 s.
    timeout = 2.0
    answers = await register_burst(settings, 24, queue_timeout=timeout, warm=True)

    statuses = sorted(response.status_code for response, _ in answers)
    assert statuses[0] == 201
    shed = [seconds for response, seconds in answers if response.status_code == 503]
    assert shed, statuses
    assert set(statuses) <= {201, 503}
    # Without the estimate every 503 would come after waiting the whole queue timeout.
    assert min(shed) < timeout / 2, shed
