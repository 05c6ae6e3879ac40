"""The signed-in user's own profile."""

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.users.factories import bearer, login, signed_in

ME = "/api/v1/users/me"


class TestReadMe:
    async def test_returns_the_user_without_secrets(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user, headers = await signed_in(client, session, full_name="Ada")

        response = await client.get(ME, headers=headers)

        assert response.status_code == 200
        assert set(response.json()) == {
            "id",
            "email",
            "full_name",
            "is_active",
            "is_superuser",
            "created_at",
            "updated_at",
        }
        assert response.json()["email"] == user.email
        assert "hashed_password" not in response.text

    @pytest.mark.parametrize(
        "headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Bearer "}]
    )
    async def test_without_a_valid_token_is_401(
        self, client: AsyncClient, headers: dict[str, str]
    ) -> None:
        response = await client.get(ME, headers=headers)

        assert response.status_code == 401
        assert response.json()["error_code"] == "UNAUTHORIZED"
        assert response.headers["WWW-Authenticate"] == "Bearer"


class TestUpdateMe:
    async def test_changes_the_name(self, client: AsyncClient, session: AsyncSession) -> None:
        _user, headers = await signed_in(client, session)

        response = await client.patch(ME, json={"full_name": "Grace Hopper"}, headers=headers)

        assert response.status_code == 200
        assert (await client.get(ME, headers=headers)).json()["full_name"] == "Grace Hopper"

    @pytest.mark.parametrize(
        "body",
        [
            {"is_superuser": True},
            {"is_active": False},
            {"email": "other@example.com"},
            {"hashed_password": "x"},
            {"id": "00000000-0000-0000-0000-000000000001"},
            {"full_name": "x" * 201},
        ],
    )
    async def test_refuses_anything_else(
        self, client: AsyncClient, session: AsyncSession, body: dict[str, object]
    ) -> None:
        user, headers = await signed_in(client, session)

        response = await client.patch(ME, json=body, headers=headers)

        assert response.status_code == 422
        assert response.json()["error_code"] == "VALIDATION_ERROR"
        await session.refresh(user)
        assert not user.is_superuser

    async def test_logged_out_token_cannot_update(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user, headers = await signed_in(client, session)
        await client.post("/api/v1/auth/logout", headers=headers)

        response = await client.patch(ME, json={"full_name": "x"}, headers=headers)

        assert response.status_code == 401
        assert (await client.get(ME, headers=bearer(await login(client, user.email)))).json()[
            "full_name"
        ] is None
