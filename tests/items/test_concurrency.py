"""Races with real commits: If-Match writers, and a retry while the first request runs."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.identity.models import User
from app.items.models import Item
from app.items.repository import ItemRepository
from tests.assertions import assert_error
from tests.conftest import on_sqlite
from tests.users.factories import DEFAULT_PASSWORD, bearer, login, unique_email

ITEMS = "/api/v1/items"


@pytest.fixture
async def account(
    committing_client: AsyncClient, engine: AsyncEngine
) -> AsyncIterator[dict[str, str]]:
    """A registered user's bearer headers; the user and their rows are removed afterwards."""
    email = unique_email()
    await committing_client.post(
        "/api/v1/auth/register", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    yield bearer(await login(committing_client, email))
    async with engine.begin() as connection:
        await connection.execute(delete(User).where(User.email == email))


class TestConcurrentIfMatch:
    async def test_eight_writers_with_one_etag_yield_one_winner(
        self, committing_client: AsyncClient, account: dict[str, str]
    ) -> None:
        created = await committing_client.post(ITEMS, json={"title": "v1"}, headers=account)
        url, tag = created.headers["Location"], created.headers["ETag"]

        responses = await asyncio.gather(
            *(
                committing_client.patch(
                    url, json={"title": f"writer {n}"}, headers={**account, "If-Match": tag}
                )
                for n in range(8)
            )
        )

        codes = sorted(response.status_code for response in responses)
        assert codes == [200] + [412] * 7
        winner = next(r for r in responses if r.status_code == 200).json()
        final = (await committing_client.get(url, headers=account)).json()
        assert final["version"] == 2
        assert final["title"] == winner["title"]


class TestIdempotencyInFlight:
    async def test_retry_during_the_first_request(
        self,
        committing_app: FastAPI,
        committing_client: AsyncClient,
        account: dict[str, str],
        engine: AsyncEngine,
        settings: Settings,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        entered, release = asyncio.Event(), asyncio.Event()
        original = ItemRepository.create

        async def slow_create(self: ItemRepository, *args: object, **kwargs: object) -> Item:
            entered.set()
            await release.wait()
            return await original(self, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(ItemRepository, "create", slow_create)
        keyed = {**account, "Idempotency-Key": "in-flight"}

        first = asyncio.create_task(
            committing_client.post(ITEMS, json={"title": "once"}, headers=keyed)
        )
        await entered.wait()
        retry = asyncio.create_task(
            committing_client.post(ITEMS, json={"title": "once"}, headers=keyed)
        )
        await asyncio.sleep(0.2)
        release.set()
        first_response, retry_response = await asyncio.gather(first, retry)

        assert first_response.status_code == 201
        if on_sqlite(settings):
            # One write transaction at a time: the retry waited, then replayed.
            assert retry_response.status_code == 201
            assert retry_response.json() == first_response.json()
        else:
            assert_error(retry_response, 409, "CONFLICT")
        async with engine.connect() as connection:
            count = await connection.scalar(
                select(func.count()).select_from(Item).where(Item.title == "once")
            )
        assert count == 1


class TestConcurrentBulkUpsert:
    async def test_each_new_id_is_reported_created_once(
        self, committing_client: AsyncClient, account: dict[str, str]
    ) -> None:
        ids = [str(uuid.uuid4()) for _ in range(50)]

        responses = await asyncio.gather(
            *(
                committing_client.post(
                    f"{ITEMS}/bulk",
                    json={"items": [{"id": id_, "title": f"writer {n}"} for id_ in ids]},
                    headers=account,
                )
                for n in range(8)
            )
        )

        assert [response.status_code for response in responses] == [200] * 8
        bodies = [response.json() for response in responses]
        assert sum(body["created"] for body in bodies) == len(ids)
        assert sum(body["updated"] for body in bodies) == 7 * len(ids)
        stored = await committing_client.get(f"{ITEMS}?limit=100", headers=account)
        versions = {row["id"]: row["version"] for row in stored.json()["items"]}
        assert versions == dict.fromkeys(ids, 8)
