"""User administration for superusers: reading, updating (flags, names) and deleting one user."""

import uuid

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import User, UserSession
from tests.assertions import assert_error
from tests.users.factories import (
    DEFAULT_PASSWORD,
    USER_FIELDS,
    SignedIn,
    bearer,
    create_user,
    login,
    signed_in,
    user_url,
)

ME = "/api/v1/users/me"
USERS = "/api/v1/users"
LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"


async def login_response(client: AsyncClient, email: str) -> Response:
    return await client.post(LOGIN, json={"email": email, "password": DEFAULT_PASSWORD})


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
