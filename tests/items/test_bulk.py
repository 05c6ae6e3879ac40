"""`POST /api/v1/items/bulk`: one upsert for many items, others' rows skipped."""

import uuid

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.items.factories import create_item, item_count
from tests.users.factories import SignedIn

ITEMS = "/api/v1/items"


class TestBulkUpsert:
    async def test_creates_and_updates_in_one_call(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        existing = await create_item(session, owner=user, title="before")
        new_id = str(uuid.uuid4())

        response = await client.post(
            f"{ITEMS}/bulk",
            json={
                "items": [
                    {"title": "fresh"},
                    {"id": str(existing.id), "title": "after", "is_active": False},
                    {"id": new_id, "title": "chosen id"},
                ]
            },
            headers=headers,
        )

        assert response.status_code == 200
        body = response.json()
        assert (body["created"], body["updated"], body["skipped"]) == (2, 1, [])
        titles = [row["title"] for row in body["items"]]
        assert titles == ["fresh", "after", "chosen id"]
        updated = body["items"][1]
        assert (updated["version"], updated["is_active"]) == (2, False)
        assert body["items"][2]["id"] == new_id
        assert {row["owner_id"] for row in body["items"]} == {str(user.id)}

    async def test_a_thousand_rows(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner

        response = await client.post(
            f"{ITEMS}/bulk",
            json={"items": [{"title": f"row {n}"} for n in range(1000)]},
            headers=headers,
        )

        assert response.json()["created"] == 1000
        assert await item_count(session, owner_id=user.id) == 1000

    async def test_more_than_a_thousand_is_422(self, client: AsyncClient, owner: SignedIn) -> None:
        _user, headers = owner

        response = await client.post(
            f"{ITEMS}/bulk", json={"items": [{"title": "x"}] * 1001}, headers=headers
        )

        assert response.status_code == 422

    async def test_duplicate_ids_in_a_batch_are_422(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        same = str(uuid.uuid4())

        response = await client.post(
            f"{ITEMS}/bulk",
            json={"items": [{"id": same, "title": "a"}, {"id": same, "title": "b"}]},
            headers=headers,
        )

        assert response.status_code == 422
        assert await item_count(session, owner_id=user.id) == 0

    async def test_deleted_rows_are_skipped(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        item = await create_item(session, owner=user)
        await client.delete(f"{ITEMS}/{item.id}", headers=headers)

        response = await client.post(
            f"{ITEMS}/bulk", json={"items": [{"id": str(item.id), "title": "x"}]}, headers=headers
        )

        assert response.json()["skipped"] == [str(item.id)]
