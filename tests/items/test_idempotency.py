"""`POST /api/v1/items` with an `Idempotency-Key`: replays, conflicts, expiry."""

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.idempotency.models import IdempotencyKey
from tests.items.factories import item_count
from tests.users.factories import SignedIn, bearer, login, signed_in

ITEMS = "/api/v1/items"


class TestIdempotencyKey:
    async def test_replay_returns_the_first_response_without_a_second_insert(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        keyed = {**headers, "Idempotency-Key": "order-42"}

        first = await client.post(ITEMS, json={"title": "once"}, headers=keyed)
        await client.patch(
            first.headers["Location"], json={"title": "changed since"}, headers=headers
        )
        second = await client.post(ITEMS, json={"title": "once"}, headers=keyed)

        assert first.status_code == second.status_code == 201
        assert second.json() == first.json()
        assert second.headers["Location"] == first.headers["Location"]
        assert second.headers["ETag"] == first.headers["ETag"]
        assert second.headers["Idempotent-Replayed"] == "true"
        assert await item_count(session, owner_id=user.id) == 1

    async def test_same_key_other_body_is_422(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        keyed = {**headers, "Idempotency-Key": "k1"}
        await client.post(ITEMS, json={"title": "one"}, headers=keyed)

        response = await client.post(ITEMS, json={"title": "two"}, headers=keyed)

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
        assert await item_count(session, owner_id=user.id) == 1

    async def test_keys_are_scoped_to_the_user(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        _alice, alice_headers = await signed_in(client, session)
        bob, bob_headers = await signed_in(client, session)

        a = await client.post(
            ITEMS, json={"title": "t"}, headers={**alice_headers, "Idempotency-Key": "same"}
        )
        b = await client.post(
            ITEMS, json={"title": "t"}, headers={**bob_headers, "Idempotency-Key": "same"}
        )

        assert a.json()["id"] != b.json()["id"]
        assert b.json()["owner_id"] == str(bob.id)
        assert "Idempotent-Replayed" not in b.headers

    async def test_body_key_order_does_not_matter(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        _user, headers = owner
        keyed = {**headers, "Idempotency-Key": "k2", "Content-Type": "application/json"}

        first = await client.post(
            ITEMS, content=b'{"title": "a", "description": "b"}', headers=keyed
        )
        second = await client.post(ITEMS, content=b'{"description":"b","title":"a"}', headers=keyed)

        assert second.json()["id"] == first.json()["id"]

    async def test_expired_key_is_cleaned_up_and_reusable(
        self,
        app: FastAPI,
        client: AsyncClient,
        session: AsyncSession,
        owner: SignedIn,
    ) -> None:
        user, headers = owner
        keyed = {**headers, "Idempotency-Key": "daily"}
        first = await client.post(ITEMS, json={"title": "monday"}, headers=keyed)
        later = datetime.now(UTC) + timedelta(hours=24, seconds=1)
        app.state.clock = lambda: later
        fresh_headers = bearer(await login(client, user.email))

        second = await client.post(
            ITEMS, json={"title": "tuesday"}, headers={**fresh_headers, "Idempotency-Key": "daily"}
        )

        assert second.status_code == 201
        assert second.json()["id"] != first.json()["id"]
        keys = await session.execute(
            select(IdempotencyKey.fingerprint).where(IdempotencyKey.user_id == user.id)
        )
        assert len(keys.all()) == 1

    @pytest.mark.parametrize("key", ["", "x" * 256, "has space"])
    async def test_malformed_key_is_422(
        self, client: AsyncClient, owner: SignedIn, key: str
    ) -> None:
        _user, headers = owner

        response = await client.post(
            ITEMS, json={"title": "t"}, headers={**headers, "Idempotency-Key": key}
        )

        assert response.status_code == 422
