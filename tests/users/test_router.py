"""`/api/v1/users`: the signed-in user's profile, and user administration for superusers."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.sessions.models import UserSession
from app.users.models import User
from tests.assertions import assert_error
from tests.users.factories import DEFAULT_PASSWORD, SignedIn, bearer, create_user, login, signed_in

ME = "/api/v1/users/me"
USERS = "/api/v1/users"
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
USER_FIELDS = {
    "id",
    "email",
    "full_name",
    "is_active",
    "is_superuser",
    "created_at",
    "updated_at",
}


@pytest.fixture
async def admin(client: AsyncClient, session: AsyncSession) -> SignedIn:
    """A superuser and the headers of one of their sessions."""
    return await signed_in(client, session, is_superuser=True)


@pytest.fixture
def admin_headers(admin: SignedIn) -> dict[str, str]:
    return admin[1]


def user_url(user_id: uuid.UUID | str) -> str:
    return f"{USERS}/{user_id}"


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


async def login_response(client: AsyncClient, email: str) -> Response:
    return await client.post(LOGIN, json={"email": email, "password": DEFAULT_PASSWORD})


class TestReadMe:
    async def test_returns_the_signed_in_user(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user, headers = await signed_in(client, session, full_name="Ada Lovelace")

        response = await client.get(ME, headers=headers)

        assert response.status_code == 200
        body = response.json()
        assert set(body) == USER_FIELDS
        assert body["id"] == str(user.id)
        assert (body["email"], body["full_name"]) == (user.email, "Ada Lovelace")
        assert (body["is_active"], body["is_superuser"]) == (True, False)

    async def test_never_includes_the_password_hash(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user, headers = await signed_in(client, session)

        response = await client.get(ME, headers=headers)

        assert response.status_code == 200
        assert "hashed_password" not in response.text
        assert user.hashed_password not in response.text

    async def test_timestamps_are_utc_with_an_offset(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        _user, headers = await signed_in(client, session)

        body = (await client.get(ME, headers=headers)).json()

        for field in ("created_at", "updated_at"):
            assert datetime.fromisoformat(body[field]).utcoffset() == timedelta(0)

    async def test_without_a_token_is_401(self, client: AsyncClient) -> None:
        response = await client.get(ME)

        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"] == "Bearer"

    @pytest.mark.parametrize(
        "authorization",
        ["Bearer not-a-token", "Bearer ", "Basic dXNlcjpwYXNz", "not-a-scheme"],
    )
    async def test_garbage_token_is_401(self, client: AsyncClient, authorization: str) -> None:
        response = await client.get(ME, headers={"Authorization": authorization})

        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"] == "Bearer"

    async def test_token_in_the_query_string_is_refused(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        token = await login(client, user.email)

        response = await client.get(ME, params={"access_token": token})

        assert_error(response, 401, "UNAUTHORIZED")

    @pytest.mark.parametrize("death", ["deactivated", "deleted", "logged_out"])
    async def test_a_token_that_died_is_401(
        self, client: AsyncClient, session: AsyncSession, death: str
    ) -> None:
        user, headers = await signed_in(client, session)
        # Deactivated or deleted behind the service's back, so no session is revoked: the
        # lookup itself refuses.
        if death == "deactivated":
            user.is_active = False
        elif death == "deleted":
            user.deleted_at = datetime.now(UTC)
        else:
            assert (await client.post("/api/v1/auth/logout", headers=headers)).status_code == 204
        await session.commit()

        response = await client.get(ME, headers=headers)

        assert_error(response, 401, "UNAUTHORIZED")


class TestUpdateMe:
    async def test_changes_the_full_name(self, client: AsyncClient, session: AsyncSession) -> None:
        _user, headers = await signed_in(client, session)

        response = await client.patch(ME, json={"full_name": "Grace Hopper"}, headers=headers)

        assert response.status_code == 200
        assert response.json()["full_name"] == "Grace Hopper"

    async def test_the_change_is_persisted(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user, headers = await signed_in(client, session)

        await client.patch(ME, json={"full_name": "Grace Hopper"}, headers=headers)

        await session.refresh(user)
        assert user.full_name == "Grace Hopper"
        assert (await client.get(ME, headers=headers)).json()["full_name"] == "Grace Hopper"

    async def test_full_name_of_200_characters_is_accepted(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        _user, headers = await signed_in(client, session)

        response = await client.patch(ME, json={"full_name": "x" * 200}, headers=headers)

        assert response.status_code == 200
        assert response.json()["full_name"] == "x" * 200

    async def test_full_name_over_200_characters_is_422(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user, headers = await signed_in(client, session, full_name="Before")

        response = await client.patch(ME, json={"full_name": "x" * 201}, headers=headers)

        assert_error(response, 422, "VALIDATION_ERROR")
        assert response.json()["errors"][0]["loc"] == ["body", "full_name"]
        await session.refresh(user)
        assert user.full_name == "Before"

    async def test_empty_body_changes_nothing(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        _user, headers = await signed_in(client, session, full_name="Same")

        response = await client.patch(ME, json={}, headers=headers)

        assert response.status_code == 200
        assert response.json()["full_name"] == "Same"

    @pytest.mark.parametrize(
        "body",
        [
            {"is_superuser": True},
            {"is_active": False},
            {"id": "00000000-0000-0000-0000-000000000001"},
            {"hashed_password": "$argon2id$v=19$m=8,t=1,p=1$forged"},
            {"email": "someone-else@example.com"},
            {"created_at": "2020-01-01T00:00:00Z"},
            {"deleted_at": "2020-01-01T00:00:00Z"},
            {"full_name": "Mallory", "is_superuser": True},
        ],
    )
    async def test_mass_assignment_is_422(
        self, client: AsyncClient, session: AsyncSession, body: dict[str, object]
    ) -> None:
        user, headers = await signed_in(client, session)
        before = (user.id, user.email, user.hashed_password, user.full_name)

        response = await client.patch(ME, json=body, headers=headers)

        assert_error(response, 422, "VALIDATION_ERROR")
        await session.refresh(user)
        assert (user.id, user.email, user.hashed_password, user.full_name) == before
        assert (user.is_active, user.is_superuser, user.deleted_at) == (True, False, None)

    async def test_without_a_token_is_401(self, client: AsyncClient) -> None:
        response = await client.patch(ME, json={"full_name": "Anonymous"})

        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"] == "Bearer"


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

        assert_error(response, 403, "FORBIDDEN")
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

        assert_error(response, 403, "FORBIDDEN")


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

    @pytest.mark.parametrize("wildcard", ["%", "_"])
    async def test_search_treats_like_wildcards_literally(
        self,
        client: AsyncClient,
        session: AsyncSession,
        admin_headers: dict[str, str],
        wildcard: str,
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        literal = await create_user(session, full_name=f"{tag} 50{wildcard}off")
        # "X" is what the wildcard would match if it were not escaped.
        await create_user(session, full_name=f"{tag} 50Xoff")

        response = await list_users(client, admin_headers, search=f"{tag} 50{wildcard}off")

        assert response.status_code == 200
        assert ids(response) == [str(literal.id)]

    async def test_search_treats_a_backslash_literally(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        tag = uuid.uuid4().hex[:8]
        literal = await create_user(session, full_name=f"{tag} a\\b")
        await create_user(session, full_name=f"{tag} ab")

        response = await list_users(client, admin_headers, search=f"{tag} a\\b")

        assert response.status_code == 200
        assert ids(response) == [str(literal.id)]

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


class TestReadUser:
    async def test_returns_the_user(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target = await create_user(session, full_name="Target")

        response = await client.get(user_url(target.id), headers=admin_headers)

        assert response.status_code == 200
        assert set(response.json()) == USER_FIELDS
        assert (response.json()["id"], response.json()["email"]) == (str(target.id), target.email)

    async def test_unknown_id_is_404(
        self, client: AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.get(user_url(uuid.uuid4()), headers=admin_headers)

        assert_error(response, 404, "NOT_FOUND")

    async def test_malformed_id_is_404(
        self, client: AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        # `{user_id:uuid}`: anything else names no resource, and `/users/me` stays its own path.
        response = await client.get(user_url("not-a-uuid"), headers=admin_headers)

        assert_error(response, 404, "NOT_FOUND")

    async def test_unsupported_method_on_me_is_405_not_a_user_id(
        self, client: AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.delete("/api/v1/users/me", headers=admin_headers)

        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD, PATCH"


class TestUpdateUser:
    async def test_sets_the_full_name(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target = await create_user(session)

        response = await client.patch(
            user_url(target.id), json={"full_name": "Renamed"}, headers=admin_headers
        )

        assert response.status_code == 200
        assert response.json()["full_name"] == "Renamed"
        await session.refresh(target)
        assert target.full_name == "Renamed"

    async def test_promotes_a_user_to_superuser(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target, target_headers = await signed_in(client, session)

        response = await client.patch(
            user_url(target.id), json={"is_superuser": True}, headers=admin_headers
        )

        assert response.status_code == 200
        assert response.json()["is_superuser"] is True
        assert (await client.get(USERS, headers=target_headers)).status_code == 200

    async def test_demotes_another_superuser(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        other = await create_user(session, is_superuser=True)

        response = await client.patch(
            user_url(other.id), json={"is_superuser": False}, headers=admin_headers
        )

        assert response.status_code == 200
        assert response.json()["is_superuser"] is False

    async def test_deactivates_a_user(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target = await create_user(session)

        response = await client.patch(
            user_url(target.id), json={"is_active": False}, headers=admin_headers
        )

        assert response.status_code == 200
        assert response.json()["is_active"] is False
        await session.refresh(target)
        assert target.is_active is False

    async def test_inactive_users_tokens_stop_working(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target, target_headers = await signed_in(client, session)
        await client.patch(user_url(target.id), json={"is_active": False}, headers=admin_headers)

        response = await client.get(ME, headers=target_headers)

        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"] == "Bearer"

    async def test_inactive_user_cannot_log_in(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target = await create_user(session)
        await client.patch(user_url(target.id), json={"is_active": False}, headers=admin_headers)

        response = await login_response(client, target.email)

        assert_error(response, 401, "INVALID_CREDENTIALS")

    async def test_reactivation_does_not_revive_old_tokens(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target, target_headers = await signed_in(client, session)
        await client.patch(user_url(target.id), json={"is_active": False}, headers=admin_headers)
        await client.patch(user_url(target.id), json={"is_active": True}, headers=admin_headers)

        response = await client.get(ME, headers=target_headers)

        assert_error(response, 401, "UNAUTHORIZED")

    async def test_reactivated_user_can_log_in_again(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target = await create_user(session)
        await client.patch(user_url(target.id), json={"is_active": False}, headers=admin_headers)
        await client.patch(user_url(target.id), json={"is_active": True}, headers=admin_headers)

        response = await login_response(client, target.email)

        assert response.status_code == 200

    async def test_renaming_keeps_the_users_sessions(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target, target_headers = await signed_in(client, session)
        await client.patch(user_url(target.id), json={"full_name": "New"}, headers=admin_headers)

        response = await client.get(ME, headers=target_headers)

        assert response.status_code == 200
        assert response.json()["full_name"] == "New"

    @pytest.mark.parametrize(
        "body",
        [
            {"email": "new@example.com"},
            {"hashed_password": "$argon2id$v=19$m=8,t=1,p=1$forged"},
            {"id": "00000000-0000-0000-0000-000000000001"},
            {"deleted_at": "2020-01-01T00:00:00Z"},
            {"is_active": "false"},
            {"is_superuser": 1},
            {"is_active": None},
            {"is_superuser": None},
            {"full_name": "x" * 201},
        ],
    )
    async def test_invalid_or_forbidden_fields_are_422(
        self,
        client: AsyncClient,
        session: AsyncSession,
        admin_headers: dict[str, str],
        body: dict[str, object],
    ) -> None:
        target = await create_user(session)
        before = (target.email, target.hashed_password, target.full_name)

        response = await client.patch(user_url(target.id), json=body, headers=admin_headers)

        assert_error(response, 422, "VALIDATION_ERROR")
        await session.refresh(target)
        assert (target.email, target.hashed_password, target.full_name) == before
        assert (target.is_active, target.is_superuser, target.deleted_at) == (True, False, None)

    async def test_unknown_id_is_404(
        self, client: AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.patch(
            user_url(uuid.uuid4()), json={"full_name": "Nobody"}, headers=admin_headers
        )

        assert_error(response, 404, "NOT_FOUND")

    async def test_deleted_user_is_404(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target = await create_user(session)
        await client.delete(user_url(target.id), headers=admin_headers)

        response = await client.patch(
            user_url(target.id), json={"is_active": True}, headers=admin_headers
        )

        assert_error(response, 404, "NOT_FOUND")

    @pytest.mark.parametrize("body", [{"is_active": False}, {"is_superuser": False}])
    async def test_superuser_cannot_deactivate_or_demote_themselves(
        self,
        client: AsyncClient,
        session: AsyncSession,
        admin: SignedIn,
        body: dict[str, bool],
    ) -> None:
        me, headers = admin

        response = await client.patch(user_url(me.id), json=body, headers=headers)

        assert_error(response, 403, "FORBIDDEN")
        await session.refresh(me)
        assert (me.is_active, me.is_superuser) == (True, True)
        assert (await client.get(USERS, headers=headers)).status_code == 200

    async def test_superuser_may_rename_themselves(
        self, client: AsyncClient, admin: SignedIn
    ) -> None:
        me, headers = admin

        response = await client.patch(
            user_url(me.id), json={"full_name": "Root", "is_superuser": True}, headers=headers
        )

        assert response.status_code == 200
        assert (response.json()["full_name"], response.json()["is_superuser"]) == ("Root", True)


class TestDeleteUser:
    async def test_returns_204_and_the_user_is_gone(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target = await create_user(session)

        response = await client.delete(user_url(target.id), headers=admin_headers)

        assert response.status_code == 204
        assert response.content == b""
        missing = await client.get(user_url(target.id), headers=admin_headers)
        assert_error(missing, 404, "NOT_FOUND")

    async def test_is_a_soft_delete(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target = await create_user(session)

        await client.delete(user_url(target.id), headers=admin_headers)

        row = (await session.execute(select(User).where(User.id == target.id))).scalar_one()
        await session.refresh(row)
        assert row.deleted_at is not None

    async def test_deleted_users_tokens_stop_working(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target, target_headers = await signed_in(client, session)

        await client.delete(user_url(target.id), headers=admin_headers)

        response = await client.get(ME, headers=target_headers)
        assert_error(response, 401, "UNAUTHORIZED")

    async def test_revokes_the_users_sessions(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target, _headers = await signed_in(client, session)

        await client.delete(user_url(target.id), headers=admin_headers)

        remaining = await session.scalars(
            select(UserSession.id).where(UserSession.user_id == target.id)
        )
        assert remaining.all() == []

    async def test_deleted_user_cannot_log_in(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target = await create_user(session)
        await client.delete(user_url(target.id), headers=admin_headers)

        response = await login_response(client, target.email)

        assert_error(response, 401, "INVALID_CREDENTIALS")

    async def test_the_email_can_register_again(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target, target_headers = await signed_in(client, session)
        await client.delete(user_url(target.id), headers=admin_headers)

        response = await client.post(
            REGISTER, json={"email": target.email, "password": DEFAULT_PASSWORD}
        )

        assert response.status_code == 201
        assert response.json()["id"] != str(target.id)
        assert (await client.get(ME, headers=target_headers)).status_code == 401

    async def test_the_new_account_does_not_inherit_the_old_sessions(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target, old_headers = await signed_in(client, session)
        await client.delete(user_url(target.id), headers=admin_headers)
        await client.post(REGISTER, json={"email": target.email, "password": DEFAULT_PASSWORD})
        new_headers = bearer(await login(client, target.email))

        old = await client.get(ME, headers=old_headers)
        new = await client.get(ME, headers=new_headers)

        assert old.status_code == 401
        assert new.status_code == 200
        assert new.json()["id"] != str(target.id)

    async def test_unknown_id_is_404(
        self, client: AsyncClient, admin_headers: dict[str, str]
    ) -> None:
        response = await client.delete(user_url(uuid.uuid4()), headers=admin_headers)

        assert_error(response, 404, "NOT_FOUND")

    async def test_deleting_twice_is_404(
        self, client: AsyncClient, session: AsyncSession, admin_headers: dict[str, str]
    ) -> None:
        target = await create_user(session)
        await client.delete(user_url(target.id), headers=admin_headers)

        response = await client.delete(user_url(target.id), headers=admin_headers)

        assert_error(response, 404, "NOT_FOUND")

    async def test_superuser_cannot_delete_themselves(
        self, client: AsyncClient, session: AsyncSession, admin: SignedIn
    ) -> None:
        me, headers = admin

        response = await client.delete(user_url(me.id), headers=headers)

        assert_error(response, 403, "FORBIDDEN")
        await session.refresh(me)
        assert me.deleted_at is None
        assert (await client.get(ME, headers=headers)).status_code == 200
