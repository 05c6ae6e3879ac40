"""User administration: superusers only, and deactivation or deletion ends sessions."""

import uuid

import pytest
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.users.factories import DEFAULT_PASSWORD, create_user, signed_in

USERS = "/api/v1/users"
ME = "/api/v1/users/me"


@pytest.fixture
async def admin(client: AsyncClient, session: AsyncSession) -> dict[str, str]:
    _user, headers = await signed_in(client, session, is_superuser=True)
    return headers


class TestAccess:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", ""),
            ("GET", "/{id}"),
            ("PATCH", "/{id}"),
            ("DELETE", "/{id}"),
        ],
    )
    async def test_non_superusers_get_403(
        self, client: AsyncClient, session: AsyncSession, method: str, path: str
    ) -> None:
        target = await create_user(session)
        _user, headers = await signed_in(client, session)
        body = {"is_superuser": True} if method == "PATCH" else None

        response = await client.request(
            method, USERS + path.format(id=target.id), json=body, headers=headers
        )

        assert response.status_code == 403
        assert response.json()["error_code"] == "FORBIDDEN"
        await session.refresh(target)
        assert (target.is_superuser, target.deleted_at) == (False, None)


class TestListUsers:
    async def test_pages_and_filters(
        self, client: AsyncClient, session: AsyncSession, admin: dict[str, str]
    ) -> None:
        match = await create_user(session, email="zed.50%_off@example.com", full_name="Zed")
        await create_user(session, email="zed.50x@example.com", full_name="Other")
        inactive = await create_user(session, full_name="Sleepy", is_active=False)

        by_search = await client.get(USERS, params={"search": "50%_"}, headers=admin)
        by_name = await client.get(USERS, params={"search": "zED"}, headers=admin)
        inactive_only = await client.get(USERS, params={"is_active": "false"}, headers=admin)

        assert [u["id"] for u in by_search.json()["items"]] == [str(match.id)]
        assert str(match.id) in {u["id"] for u in by_name.json()["items"]}
        assert [u["id"] for u in inactive_only.json()["items"]] == [str(inactive.id)]

    async def test_sorts_by_email_and_pages_with_cursors(
        self, client: AsyncClient, session: AsyncSession, admin: dict[str, str]
    ) -> None:
        for letter in "cab":
            await create_user(session, email=f"{letter}-{uuid.uuid4().hex[:6]}@sort.example")

        first = (
            await client.get(USERS, params={"order_by": "email", "limit": 2}, headers=admin)
        ).json()
        rest = (
            await client.get(
                USERS,
                params={"order_by": "email", "limit": 10, "cursor": first["next_cursor"]},
                headers=admin,
            )
        ).json()

        emails = [u["email"] for u in first["items"] + rest["items"]]
        assert emails == sorted(emails)
        assert len(emails) == len(set(emails)) == first["total"]

    async def test_unknown_sort_field_is_422(
        self, client: AsyncClient, admin: dict[str, str]
    ) -> None:
        response = await client.get(USERS, params={"order_by": "hashed_password"}, headers=admin)

        assert response.status_code == 422


class TestManageUser:
    async def test_read_one_and_unknown_is_404(
        self, client: AsyncClient, session: AsyncSession, admin: dict[str, str]
    ) -> None:
        target = await create_user(session)

        found = await client.get(f"{USERS}/{target.id}", headers=admin)
        missing = await client.get(f"{USERS}/{uuid.uuid4()}", headers=admin)

        assert found.json()["email"] == target.email
        assert missing.status_code == 404
        assert missing.json()["error_code"] == "NOT_FOUND"

    async def test_promote(
        self, client: AsyncClient, session: AsyncSession, admin: dict[str, str]
    ) -> None:
        target = await create_user(session)

        response = await client.patch(
            f"{USERS}/{target.id}", json={"is_superuser": True, "full_name": "Boss"}, headers=admin
        )

        assert response.status_code == 200
        assert (response.json()["is_superuser"], response.json()["full_name"]) == (True, "Boss")

    async def test_deactivation_ends_sessions_and_logins(
        self, client: AsyncClient, session: AsyncSession, admin: dict[str, str]
    ) -> None:
        target, target_headers = await signed_in(client, session)

        response = await client.patch(
            f"{USERS}/{target.id}", json={"is_active": False}, headers=admin
        )
        login = await client.post(
            "/api/v1/auth/login", json={"email": target.email, "password": DEFAULT_PASSWORD}
        )

        assert response.json()["is_active"] is False
        assert (await client.get(ME, headers=target_headers)).status_code == 401
        assert login.status_code == 401
        assert login.json()["error_code"] == "INVALID_CREDENTIALS"

    async def test_reactivation_does_not_revive_old_sessions(
        self, client: AsyncClient, session: AsyncSession, admin: dict[str, str]
    ) -> None:
        target, target_headers = await signed_in(client, session)
        await client.patch(f"{USERS}/{target.id}", json={"is_active": False}, headers=admin)

        await client.patch(f"{USERS}/{target.id}", json={"is_active": True}, headers=admin)

        assert (await client.get(ME, headers=target_headers)).status_code == 401

    async def test_delete_is_soft_and_frees_the_email(
        self, client: AsyncClient, session: AsyncSession, admin: dict[str, str]
    ) -> None:
        target, target_headers = await signed_in(client, session)

        deleted = await client.delete(f"{USERS}/{target.id}", headers=admin)
        listed = await client.get(USERS, params={"limit": 100}, headers=admin)
        again = await client.post(
            "/api/v1/auth/register", json={"email": target.email, "password": DEFAULT_PASSWORD}
        )

        assert deleted.status_code == 204
        assert (await client.get(f"{USERS}/{target.id}", headers=admin)).status_code == 404
        assert (await client.get(ME, headers=target_headers)).status_code == 401
        assert str(target.id) not in {u["id"] for u in listed.json()["items"]}
        assert again.status_code == 201
        assert again.json()["id"] != str(target.id)

    @pytest.mark.parametrize(
        ("method", "body"),
        [("PATCH", {"is_active": False}), ("PATCH", {"is_superuser": False}), ("DELETE", None)],
    )
    async def test_superusers_cannot_lock_themselves_out(
        self, client: AsyncClient, session: AsyncSession, method: str, body: dict[str, bool] | None
    ) -> None:
        me, headers = await signed_in(client, session, is_superuser=True)

        response = await client.request(method, f"{USERS}/{me.id}", json=body, headers=headers)

        assert response.status_code == 403
        assert (await client.get(ME, headers=headers)).json()["is_superuser"] is True
