"""The app through PgBouncer in transaction mode (`DB_POOLER=transaction`): every request of a
mixed load succeeds with fewer server connections than clients, no prepared statement is left on
a server connection, and without the setting the same load fails (the pooler really switches
server connections under the app)."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from app.core.config import Settings
from tests.conftest import http_client, running_app
from tests.users.factories import unique_email
from topology.pgbouncer import PgBouncer

PASSWORD = "pooled password"
CLIENTS = 20
ROUNDS = 15


@pytest.fixture
async def pooled_client(
    settings: Settings, pooler: PgBouncer, migrated_database: str, request: pytest.FixtureRequest
) -> AsyncIterator[AsyncClient]:
    database = make_url(migrated_database).database or ""
    through = settings.model_copy(
        update={
            "database_url": pooler.url(database),
            "db_pooler": getattr(request, "param", "transaction"),
            "db_pool_size": CLIENTS,
        }
    )
    async with running_app(through) as application, http_client(application) as client:
        yield client


async def test_a_mixed_load_through_the_pooler_succeeds(
    pooled_client: AsyncClient, pooler: PgBouncer, migrated_database: str
) -> None:
    statuses = await mixed_load(pooled_client)

    assert statuses == Counter({200: CLIENTS * (1 + ROUNDS * 4), 201: CLIENTS * (1 + ROUNDS)})
    assert await statements_left(pooler, migrated_database) == 0


@pytest.mark.parametrize("pooled_client", ["none"], indirect=True)
async def test_without_the_setting_the_same_load_fails(pooled_client: AsyncClient) -> None:
    statuses = await mixed_load(pooled_client)

    assert statuses[500] + statuses[503] > 0, statuses


async def mixed_load(client: AsyncClient) -> Counter[int]:
    """`CLIENTS` users at once, each signing up and in, then `ROUNDS` times: create an item,
    read it, change it, list in both paging modes. Counts the answers' statuses."""
    statuses: Counter[int] = Counter()

    async def user() -> None:
        credentials = {"email": unique_email(), "password": PASSWORD}
        registered = await client.post("/api/v1/auth/register", json=credentials)
        login = await client.post("/api/v1/auth/login", json=credentials)
        statuses.update((registered.status_code, login.status_code))
        if login.status_code != 200:
            return
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for round_ in range(ROUNDS):
            created = await client.post(
                "/api/v1/items", json={"title": f"item {round_}"}, headers=headers
            )
            statuses[created.status_code] += 1
            if created.status_code != 201:
                continue
            url = f"/api/v1/items/{created.json()['id']}"
            read = await client.get(url, headers=headers)
            changed = await client.patch(
                url,
                json={"title": f"changed {round_}"},
                headers={**headers, "If-Match": read.headers.get("ETag", "")},
            )
            offset = await client.get("/api/v1/items?limit=5&offset=0", headers=headers)
            cursor = await client.get("/api/v1/items?limit=5", headers=headers)
            statuses.update(r.status_code for r in (read, changed, offset, cursor))

    await asyncio.gather(*(user() for _ in range(CLIENTS)))
    return statuses


async def statements_left(pooler: PgBouncer, migrated_database: str) -> int:
    """Named prepared statements on the server connections, each asked through the pooler."""
    database = make_url(migrated_database).database or ""
    engine = create_async_engine(
        pooler.url(database),
        connect_args={"statement_cache_size": 0, "prepared_statement_name_func": lambda: ""},
    )
    query = text("SELECT count(*) FROM pg_prepared_statements WHERE name <> :own")
    try:
        async with engine.connect() as connection:
            counts = [
                (await connection.execute(query, {"own": ""})).scalar_one() for _ in range(3 * 4)
            ]
    finally:
        await engine.dispose()
    return int(sum(counts))
