"""`/api/v1/users/me`: the signed-in user's own profile."""

from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.assertions import assert_error
from tests.users.factories import USER_FIELDS, create_user, login, signed_in

ME = "/api/v1/users/me"


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
        assert str(user.hashed_password) not in response.text

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
