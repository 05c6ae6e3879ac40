"""The deployment across hosts (network namespaces): clients reach the app hosts only through
nginx; requests are spread over every host; and a host killed with SIGKILL under a steady load
of writes fails only the requests it had in flight, while every acknowledged write is in the
database afterwards (drill: kill -9 of one app host)."""

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from app.items.models import Item
from tests.live import TEST_ENVIRONMENT
from tests.users.factories import unique_email
from topology import network, pgbouncer, postgres, servers
from topology.deployment import Deployment, deployment

PASSWORD = "balanced password"
WRITERS = 8
LOAD_SECONDS = 6.0
KILL_AFTER = 2.0


@pytest.fixture(scope="module")
def deployed() -> Iterator[Deployment]:
    for reason in (
        network.available(),
        postgres.available(),
        pgbouncer.available(),
        servers.available(),
    ):
        if reason is not None:
            pytest.skip(reason)
    with deployment(TEST_ENVIRONMENT, migrate) as running:
        yield running


def migrate(database_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "app", "db", "upgrade"],
        env={**os.environ, **TEST_ENVIRONMENT, "DATABASE_URL": database_url},
        check=True,
        capture_output=True,
    )


def test_requests_are_spread_over_every_app_host(deployed: Deployment) -> None:
    with httpx.Client(base_url=deployed.url, timeout=10) as client:
        headers = sign_up(client)
        answers = Counter(
            client.get("/api/v1/users/me", headers=headers).status_code for _ in range(30)
        )

    assert answers == Counter({200: 30})
    for server in deployed.apps:
        assert '"path":"/api/v1/users/me"' in server.output(), server.name


async def test_a_host_killed_under_load_loses_no_acknowledged_write(deployed: Deployment) -> None:
    with httpx.Client(base_url=deployed.url, timeout=10) as signing:
        headers = sign_up(signing)
    victim = deployed.apps[1]
    acknowledged: list[uuid.UUID] = []
    failed: Counter[str] = Counter()
    after_kill: Counter[int] = Counter()
    start = time.monotonic()
    killed_at: float | None = None

    async def writer(client: httpx.AsyncClient) -> None:
        while time.monotonic() - start < LOAD_SECONDS:
            try:
                response = await client.post("/api/v1/items", json={"title": "w"}, headers=headers)
            except httpx.TransportError as error:
                failed[type(error).__name__] += 1
                continue
            if response.status_code == 201:
                acknowledged.append(uuid.UUID(response.json()["id"]))
            else:
                failed[str(response.status_code)] += 1
            if killed_at is not None and time.monotonic() - killed_at > 1:
                after_kill[response.status_code] += 1

    async def kill() -> None:
        nonlocal killed_at
        await asyncio.sleep(KILL_AFTER)
        victim.signal(signal.SIGKILL)
        killed_at = time.monotonic()

    async with httpx.AsyncClient(base_url=deployed.url, timeout=10) as client:
        await asyncio.gather(kill(), *(writer(client) for _ in range(WRITERS)))

    stored = await stored_ids(deployed, acknowledged)
    print(
        f"acknowledged {len(acknowledged)}, failed {dict(failed)}, after the kill {dict(after_kill)}"
    )
    assert set(acknowledged) <= stored, "an acknowledged write is missing"
    assert sum(failed.values()) <= WRITERS, failed  # at most what was in flight on the victim
    assert after_kill, "no request was answered a second after the kill"
    assert set(after_kill) == {201}, after_kill


def sign_up(client: httpx.Client) -> dict[str, str]:
    credentials = {"email": unique_email(), "password": PASSWORD}
    assert client.post("/api/v1/auth/register", json=credentials).status_code == 201
    response = client.post("/api/v1/auth/login", json=credentials)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def stored_ids(deployed: Deployment, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    engine = create_async_engine(deployed.database_url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(select(Item.id).where(Item.id.in_(ids)))
            return {row.id for row in rows}
    finally:
        await engine.dispose()
