"""Two `app serve` processes on different ports sharing PostgreSQL and Redis behave as one
service: tokens, logouts, rate-limit counts and If-Match races are shared."""

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import throwaway_database
from tests.live import LiveServer, start_server
from tests.reliability.test_outage import needs_postgres
from tests.users.factories import unique_email

pytestmark = needs_postgres

# A Redis database of its own, emptied afterwards.
REDIS_URL = "redis://127.0.0.1:6379/14"
PASSWORD = "shared password"


@pytest.fixture(scope="module")
async def instances(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    """Started once for the module (each start costs seconds); tests use fresh emails."""
    folder = tmp_path_factory.mktemp("instances")
    settings = {"REDIS_URL": REDIS_URL, "RATE_LIMIT_LOGIN_EMAIL": "3/minute"}
    redis = Redis.from_url(REDIS_URL)
    async with throwaway_database(folder) as database_url:
        servers = (
            start_server(database_url, folder, **settings),
            start_server(database_url, folder, **settings),
        )
        try:
            yield servers
        finally:
            for server in servers:
                server.kill()
            await redis.flushdb()
            await redis.aclose()


def sign_in(server: LiveServer, email: str) -> dict[str, str]:
    credentials = {"email": email, "password": PASSWORD}
    httpx.post(f"{server.base_url}/api/v1/auth/register", json=credentials).raise_for_status()
    response = httpx.post(f"{server.base_url}/api/v1/auth/login", json=credentials)
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def me(server: LiveServer, headers: dict[str, str]) -> int:
    return httpx.get(f"{server.base_url}/api/v1/users/me", headers=headers).status_code


def test_a_token_from_one_instance_works_on_the_other(
    instances: tuple[LiveServer, LiveServer],
) -> None:
    first, second = instances

    headers = sign_in(first, unique_email())

    assert me(second, headers) == 200


def test_logout_on_one_instance_is_seen_by_the_other_at_once(
    instances: tuple[LiveServer, LiveServer],
) -> None:
    first, second = instances
    headers = sign_in(first, unique_email())
    assert me(second, headers) == 200

    assert httpx.post(f"{first.base_url}/api/v1/auth/logout", headers=headers).status_code == 204

    assert me(second, headers) == 401


def test_rate_limit_counts_are_shared(instances: tuple[LiveServer, LiveServer]) -> None:
    email = unique_email()
    wrong = {"email": email, "password": "not the password"}

    codes = [
        httpx.post(f"{server.base_url}/api/v1/auth/login", json=wrong).status_code
        for server in (*instances, *instances)
    ]

    assert codes == [401, 401, 401, 429]


async def test_concurrent_if_match_updates_across_instances_have_one_winner(
    instances: tuple[LiveServer, LiveServer],
) -> None:
    first, second = instances
    headers = sign_in(first, unique_email())

    async with (
        httpx.AsyncClient(base_url=first.base_url) as one,
        httpx.AsyncClient(base_url=second.base_url) as other,
    ):
        created = await one.post("/api/v1/items", json={"title": "v1"}, headers=headers)
        url = f"/api/v1/items/{created.json()['id']}"
        if_match = {**headers, "If-Match": created.headers["ETag"]}
        responses = await asyncio.gather(
            *(
                client.patch(url, json={"title": f"writer {n}"}, headers=if_match)
                for n, client in enumerate([one, other] * 4)
            )
        )
        final = await other.get(url, headers=headers)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * 7
    winner = next(response for response in responses if response.status_code == 200)
    assert final.json()["title"] == winner.json()["title"]
    assert final.json()["version"] == 2
