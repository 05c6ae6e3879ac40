"""User administration for superusers: who may, and `GET /api/v1/users` (filters, sorting,
paging)."""

import uuid

import pytest
from httpx import AsyncClient, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import User
from tests.assertions import assert_error
from tests.users.factories import USER_FIELDS, create_user, signed_in, user_url

USERS = "/api/v1/users"


def tagged_email(tag: str, local: str = "") -> str:
    """An email that a `search` for `tag` finds, so a list test sees only its own users."""
    return f"{local or uuid.uuid4().hex[:8]}.{tag}@example.com"


async def create_tagged_users(session: AsyncSession, tag: str, count: int) -> list[User]:
    return [await create_user(session, email=tagged_email(tag)) for _ in range(count)]


def ids(response: Response) -> list[str]:
    return [user["id"] for user in response.json()["items"]]


async def list_users(client: AsyncClient, headers: dict[str, str], **params: str | int) -> Response:
    return await client.get(USERS, params=params, headers=headers)


async def walk_cursor(
    client: AsyncClient, headers: dict[str, str], **params: str | int
) -> list[str]:
    """Every id in cursor mode, following `next_cursor` until it runs out."""
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page_params = dict(params) if cursor is None else {**params, "cursor": cursor}
        response = await list_users(client, headers, **page_params)
        assert response.status_code == 200, response.text
        seen.extend(ids(response))
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return seen


class TestSuperuserOnly:
    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", ""), ("GET", "/{id}"), ("PATCH", "/{id}"), ("DELETE", "/{id}")],
    )
    async def test_normal_users_get_403(
        self, client: AsyncClient, session: AsyncSession, method: str, path: str
    ) -> None:
        target = await create_user(session)
        _user, headers = await signed_in(client, session)
        body = {"is_superuser": True, "is_active": False} if method == "PATCH" else None

        response = await client.request(
            method, USERS + path.format(id=target.id), json=body, headers=headers
        )

        assert_error(response, 403, "PERMISSION_DENIED")
        await session.refresh(target)
        assert (target.is_active, target.is_superuser, target.deleted_at) == (True, False, None)

    @pytest.mark.parametrize(
        ("method", "path"),
        [("GET", ""), ("GET", "/{id}"), ("PATCH", "/{id}"), ("DELETE", "/{id}")],
    )
    async def test_anonymous_callers_get_401(
        self, client: AsyncClient, session: AsyncSession, method: str, path: str
    ) -> None:
        target = await create_user(session)
        body = {"is_superuser": True} if method == "PATCH" else None

        response = await client.request(method, USERS + path.format(id=target.id), json=body)

        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"] == "Bearer"

    async def test_a_demoted_superuser_loses_access_at_once(
        self,
        client: AsyncClient,
        session: AsyncSession,
        admin_headers: dict[str, str],
    ) -> None:
        other, other_headers = await signed_in(client, session, is_superuser=True)
        await client.patch(user_url(other.id), json={"is_superuser": False}, headers=admin_headers)

        response = await client.get(USERS, headers=other_headers)

        assert_error(response, 403, "PERMISSION_DENIED")


class TestListUsers:
    async def test_returns_a_page_with_total(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        await create_tagged_users(session, tag, 3)

        response = await list_users(client, admin_headers, search=tag)

        assert response.status_code == 200
        body = response.json()
        assert (body["limit"], body["offset"], body["total"]) == (20, 0, 3)
        assert body["next_cursor"] is None
        assert len(body["items"]) == 3
        assert all(set(item) == USER_FIELDS for item in body["items"])

    async def test_never_includes_password_hashes(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        await create_tagged_users(session, tag, 2)

        response = await list_users(client, admin_headers, search=tag)

        assert response.status_code == 200
        assert "hashed_password" not in response.text
        assert "$argon2" not in response.text

    async def test_limit_and_offset_page_through_without_overlap(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        created = await create_tagged_users(session, tag, 5)

        pages = [
            await list_users(client, admin_headers, search=tag, limit=2, offset=offset)
            for offset in (0, 2, 4)
        ]

        assert [len(ids(page)) for page in pages] == [2, 2, 1]
        assert {page.json()["total"] for page in pages} == {5}
        seen = [user_id for page in pages for user_id in ids(page)]
        assert sorted(seen) == sorted(str(user.id) for user in created)

    @pytest.mark.parametrize("limit", [0, 101])
    async def test_limit_out_of_range_is_422(
        self, client: AsyncClient, admin_headers: dict[str, str], limit: int
    ) -> None:
        response = await list_users(client, admin_headers, limit=limit)

        assert_error(response, 422, "VALIDATION_ERROR")

    async def test_search_matches_the_email_case_insensitively(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        match = await create_user(session, email=tagged_email(tag))
        await create_user(session)

        response = await list_users(client, admin_headers, search=tag.upper())

        assert response.status_code == 200
        assert ids(response) == [str(match.id)]

    async def test_search_matches_the_full_name(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        match = await create_user(session, full_name=f"Grace {tag} Hopper")
        await create_user(session, full_name="Someone Else")

        response = await list_users(client, admin_headers, search=f"GRACE {tag.upper()}")

        assert response.status_code == 200
        assert ids(response) == [str(match.id)]

    # The second name is what the first's LIKE wildcard or escape would match unescaped.
    @pytest.mark.parametrize(
        ("literal", "lookalike"),
        [("50%off", "50Xoff"), ("50_off", "50Xoff"), ("a\\b", "ab")],
        ids=["percent", "underscore", "backslash"],
    )
    async def test_search_treats_like_metacharacters_literally(
        self,
        client: AsyncClient,
        session: AsyncSession,
        admin_headers: dict[str, str],
        literal: str,
        lookalike: str,
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        match = await create_user(session, full_name=f"{tag} {literal}")
        await create_user(session, full_name=f"{tag} {lookalike}")

        response = await list_users(client, admin_headers, search=f"{tag} {literal}")

        assert response.status_code == 200
        assert ids(response) == [str(match.id)]

    @pytest.mark.parametrize("is_active", [True, False])
    async def test_filters_by_is_active(
        self,
        client: AsyncClient,
        session: AsyncSession,
        admin_headers: dict[str, str],
        is_active: bool,
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        active = await create_user(session, email=tagged_email(tag))
        inactive = await create_user(session, email=tagged_email(tag), is_active=False)

        response = await list_users(
            client, admin_headers, search=tag, is_active=str(is_active).lower()
        )

        assert response.status_code == 200
        assert ids(response) == [str(active.id if is_active else inactive.id)]

    @pytest.mark.parametrize("order_by", ["email", "-email"])
    async def test_orders_by_email(
        self,
        client: AsyncClient,
        session: AsyncSession,
        admin_headers: dict[str, str],
        order_by: str,
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        for local in ("carol", "alice", "bob"):
            await create_user(session, email=tagged_email(tag, local))

        response = await list_users(client, admin_headers, search=tag, order_by=order_by)

        assert response.status_code == 200
        emails = [user["email"].split(".")[0] for user in response.json()["items"]]
        expected = ["alice", "bob", "carol"]
        assert emails == (expected if order_by == "email" else expected[::-1])

    async def test_defaults_to_newest_first(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        created = await create_tagged_users(session, tag, 3)

        response = await list_users(client, admin_headers, search=tag)

        assert ids(response) == [str(user.id) for user in reversed(created)]

    @pytest.mark.parametrize("order_by", ["hashed_password", "full_name", "nope", "-is_superuser"])
    async def test_unknown_order_by_field_is_422(
        self, client: AsyncClient, admin_headers: dict[str, str], order_by: str
    ) -> None:
        response = await list_users(client, admin_headers, order_by=order_by)

        assert_error(response, 422, "VALIDATION_ERROR")

    @pytest.mark.parametrize("order_by", ["-created_at", "email", "-email", "updated_at"])
    async def test_cursor_paging_visits_every_user_once(
        self,
        client: AsyncClient,
        session: AsyncSession,
        admin_headers: dict[str, str],
        order_by: str,
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        created = await create_tagged_users(session, tag, 7)

        seen = await walk_cursor(client, admin_headers, search=tag, order_by=order_by, limit=2)

        assert len(seen) == len(set(seen)) == 7
        assert set(seen) == {str(user.id) for user in created}

    async def test_cursor_pages_have_no_offset_or_total(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        await create_tagged_users(session, tag, 3)
        first = await list_users(client, admin_headers, search=tag, limit=1)

        response = await list_users(
            client, admin_headers, search=tag, limit=1, cursor=first.json()["next_cursor"]
        )

        assert response.status_code == 200
        assert (response.json()["offset"], response.json()["total"]) == (None, None)
        assert response.json()["next_cursor"] is not None

    async def test_invalid_cursor_is_422(
        self, client: AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await list_users(client, admin_headers, cursor="not-a-cursor")

        assert_error(response, 422, "VALIDATION_ERROR")

    async def test_deleted_users_are_not_listed(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        kept, deleted = await create_tagged_users(session, tag, 2)
        assert (await client.delete(user_url(deleted.id), headers=admin_headers)).status_code == 204

        response = await list_users(client, admin_headers, search=tag)

        assert ids(response) == [str(kept.id)]
        assert response.json()["total"] == 1
