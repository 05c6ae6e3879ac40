"""GET /items: filters, sorting, offset and cursor paging, soft-deleted rows."""

import base64
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.pagination import CursorCodec
from tests.assertions import assert_error
from tests.items.factories import create_item
from tests.users.factories import SignedIn, create_user, signed_in

ITEMS = "/api/v1/items"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


async def walk_cursor(
    client: AsyncClient, headers: dict[str, str], params: dict[str, str | int]
) -> list[str]:
    """Every id, page by page through `next_cursor`."""
    page = (await client.get(ITEMS, params=params, headers=headers)).json()
    seen = [row["id"] for row in page["items"]]
    while page["next_cursor"]:
        page = (
            await client.get(
                ITEMS, params={**params, "cursor": page["next_cursor"]}, headers=headers
            )
        ).json()
        assert page["total"] is None
        assert page["offset"] is None
        seen += [row["id"] for row in page["items"]]
    return seen


class TestFilters:
    async def test_search_is_case_insensitive_on_title_and_description(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        by_title = await create_item(session, owner=user, title="Red Apple")
        by_text = await create_item(session, owner=user, title="x", description="an APPLE pie")
        await create_item(session, owner=user, title="pear")

        response = await client.get(ITEMS, params={"search": "apple"}, headers=headers)

        assert {row["id"] for row in response.json()["items"]} == {
            str(by_title.id),
            str(by_text.id),
        }

    async def test_search_wildcards_are_literal(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        literal = await create_item(session, owner=user, title="100% cotton")
        await create_item(session, owner=user, title="100 cotton")

        response = await client.get(ITEMS, params={"search": "0%"}, headers=headers)

        assert [row["id"] for row in response.json()["items"]] == [str(literal.id)]

    async def test_is_active_and_created_at_range(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        inside = await create_item(session, owner=user, created_at=T0 + timedelta(days=1))
        await create_item(session, owner=user, created_at=T0 + timedelta(days=1), is_active=False)
        await create_item(session, owner=user, created_at=T0 - timedelta(seconds=1))
        await create_item(session, owner=user, created_at=T0 + timedelta(days=2))

        response = await client.get(
            ITEMS,
            params={
                "is_active": "true",
                "created_at__gte": T0.isoformat(),
                "created_at__lt": (T0 + timedelta(days=2)).isoformat(),
            },
            headers=headers,
        )

        assert [row["id"] for row in response.json()["items"]] == [str(inside.id)]

    async def test_superuser_filters_by_owner_and_sees_deleted(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        alice = await create_user(session)
        live = await create_item(session, owner=alice)
        gone = await create_item(session, owner=alice, deleted_at=T0)
        await create_item(session, owner=await create_user(session))
        _admin, headers = await signed_in(client, session, is_superuser=True)

        default = await client.get(ITEMS, params={"owner_id": str(alice.id)}, headers=headers)
        with_deleted = await client.get(
            ITEMS, params={"owner_id": str(alice.id), "include_deleted": "true"}, headers=headers
        )

        assert [row["id"] for row in default.json()["items"]] == [str(live.id)]
        assert {row["id"] for row in with_deleted.json()["items"]} == {str(live.id), str(gone.id)}
        assert with_deleted.json()["total"] == 2

    async def test_unknown_filter_is_422(self, client: AsyncClient, owner: SignedIn) -> None:
        _user, headers = owner

        response = await client.get(ITEMS, params={"is_active": "maybe"}, headers=headers)

        assert response.status_code == 422


class TestSorting:
    async def test_default_is_newest_first(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        old = await create_item(session, owner=user, created_at=T0)
        new = await create_item(session, owner=user, created_at=T0 + timedelta(hours=1))

        response = await client.get(ITEMS, headers=headers)

        assert [row["id"] for row in response.json()["items"]] == [str(new.id), str(old.id)]

    async def test_title_then_newest(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        b = await create_item(session, owner=user, title="b", created_at=T0)
        a_old = await create_item(session, owner=user, title="a", created_at=T0)
        a_new = await create_item(session, owner=user, title="a", created_at=T0 + timedelta(1))

        response = await client.get(
            ITEMS, params={"order_by": "title,-created_at"}, headers=headers
        )

        assert [row["id"] for row in response.json()["items"]] == [
            str(a_new.id),
            str(a_old.id),
            str(b.id),
        ]

    @pytest.mark.parametrize("order_by", ["owner_id", "description", "-version", "title,title"])
    async def test_other_fields_are_422(
        self, client: AsyncClient, owner: SignedIn, order_by: str
    ) -> None:
        _user, headers = owner

        response = await client.get(ITEMS, params={"order_by": order_by}, headers=headers)

        assert_error(response, 422, "VALIDATION_ERROR")


class TestOffsetPaging:
    async def test_pages_with_total(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        for n in range(5):
            await create_item(session, owner=user, created_at=T0 + timedelta(minutes=n))

        first = (await client.get(ITEMS, params={"limit": 2}, headers=headers)).json()
        last = (await client.get(ITEMS, params={"limit": 2, "offset": 4}, headers=headers)).json()

        assert (first["limit"], first["offset"], first["total"]) == (2, 0, 5)
        assert len(first["items"]) == 2
        assert first["next_cursor"] is not None
        assert (last["offset"], last["total"], len(last["items"])) == (4, 5, 1)
        assert last["next_cursor"] is None

    async def test_deleted_items_are_not_counted(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        await create_item(session, owner=user)
        await create_item(session, owner=user, deleted_at=T0)

        page = (await client.get(ITEMS, params={"limit": 1}, headers=headers)).json()

        assert page["total"] == 1

    @pytest.mark.parametrize(
        "params", [{"limit": 0}, {"limit": 101}, {"offset": -1}, {"offset": 2**63}]
    )
    async def test_out_of_range_is_422(
        self, client: AsyncClient, owner: SignedIn, params: dict[str, int]
    ) -> None:
        _user, headers = owner

        response = await client.get(ITEMS, params=params, headers=headers)

        assert response.status_code == 422


class TestCursorPaging:
    async def test_visits_every_row_once_with_equal_sort_keys(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        ids = {
            str((await create_item(session, owner=user, title="same", created_at=T0)).id)
            for _ in range(23)
        }

        for order_by in ("-created_at", "title", "title,-updated_at"):
            seen = await walk_cursor(client, headers, {"limit": 5, "order_by": order_by})
            assert len(seen) == len(set(seen)) == 23
            assert set(seen) == ids

    async def test_rows_inserted_between_pages_are_not_duplicated(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        for n in range(6):
            await create_item(session, owner=user, created_at=T0 + timedelta(minutes=n))
        first = (await client.get(ITEMS, params={"limit": 3}, headers=headers)).json()

        newer = await create_item(session, owner=user, created_at=T0 + timedelta(days=1))
        older = await create_item(session, owner=user, created_at=T0 - timedelta(days=1))
        rest = await walk_cursor(client, headers, {"limit": 3, "cursor": first["next_cursor"]})

        seen = [row["id"] for row in first["items"]] + rest
        assert len(seen) == len(set(seen)) == 7
        assert str(newer.id) not in seen
        assert seen[-1] == str(older.id)

    async def test_cursor_from_another_order_is_422(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        user, headers = owner
        for _ in range(3):
            await create_item(session, owner=user)
        cursor = (await client.get(ITEMS, params={"limit": 1}, headers=headers)).json()[
            "next_cursor"
        ]

        response = await client.get(
            ITEMS, params={"cursor": cursor, "order_by": "title"}, headers=headers
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]

    @pytest.mark.parametrize("cursor", ["garbage", "e30.AAAA", "x" * 3000])
    async def test_invalid_cursor_is_422(
        self, client: AsyncClient, owner: SignedIn, cursor: str
    ) -> None:
        _user, headers = owner

        response = await client.get(ITEMS, params={"cursor": cursor}, headers=headers)

        assert_error(response, 422, "VALIDATION_ERROR")


def forged_cursor(codec: CursorCodec, sort: str, values: list[list[object]]) -> str:
    """A cursor signed with the app's key (a leaked or default `SECRET_KEY`) that carries
    tagged values of the attacker's choosing."""
    payload = orjson.dumps({"s": sort, "v": values})
    signature = codec._sign(payload)
    return ".".join(base64.urlsafe_b64encode(part).decode() for part in (payload, signature))


class TestForgedCursor:
    """Even a validly signed cursor must decode to the sort keys' types: otherwise the driver
    fails on it (a 500) instead of the client getting a 422."""

    @pytest.mark.parametrize(
        ("sort", "values"),
        [
            ("-created_at", [["n", "not a number"], ["u", str(uuid.uuid4())]]),
            ("-created_at", [["t", "2026-01-01T00:00:00+00:00"], ["s", "not-a-uuid"]]),
            ("-created_at", [["t", "2026-01-01T00:00:00"], ["u", str(uuid.uuid4())]]),
            ("-created_at", [["n", "12.5"], ["u", str(uuid.uuid4())]]),
            ("-created_at", [["i", 1], ["u", str(uuid.uuid4())]]),
            ("-created_at", [["z", None], ["u", str(uuid.uuid4())]]),
            ("-created_at", [["t", "2026-01-01T00:00:00+00:00"]]),
            ("title", [["b", True], ["u", str(uuid.uuid4())]]),
            ("title", [["f", "NaN"], ["u", str(uuid.uuid4())]]),
            ("title", [["d", "2026-01-01"], ["u", str(uuid.uuid4())]]),
            ("title", [["q", "unknown tag"], ["u", str(uuid.uuid4())]]),
        ],
    )
    async def test_a_value_of_the_wrong_type_is_422(
        self,
        client: AsyncClient,
        app: FastAPI,
        owner: SignedIn,
        sort: str,
        values: list[list[object]],
    ) -> None:
        cursor = forged_cursor(app.state.cursor_codec, sort, values)

        response = await client.get(
            ITEMS, params={"cursor": cursor, "order_by": sort}, headers=owner[1]
        )

        assert response.status_code == 422
        assert response.json()["errors"][0]["loc"] == ["query", "cursor"]

    async def test_a_well_typed_forged_cursor_pages_as_usual(
        self,
        client: AsyncClient,
        app: FastAPI,
        session: AsyncSession,
        owner: SignedIn,
    ) -> None:
        user, headers = owner
        await create_item(session, owner=user, title="b")
        after: list[list[object]] = [["s", "a"], ["u", str(uuid.UUID(int=0))]]
        cursor = forged_cursor(app.state.cursor_codec, "title", after)

        response = await client.get(
            ITEMS, params={"cursor": cursor, "order_by": "title"}, headers=headers
        )

        assert response.status_code == 200
        assert [row["title"] for row in response.json()["items"]] == ["b"]
