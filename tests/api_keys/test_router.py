"""Personal API keys over HTTP: shown once and stored as a hash, scoped to what their owner
holds, dead with revocation, expiry or the owner's deactivation, and never able to manage keys,
sessions or the password."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.identity.models import KEY_PREFIX, ApiKey
from tests.api_keys.factories import KEYS, api_key
from tests.assertions import assert_error
from tests.roles.factories import create_role
from tests.users.factories import DEFAULT_PASSWORD, SignedIn, signed_in, user_url

ITEMS = "/api/v1/items"
PASSWORD = {"current_password": DEFAULT_PASSWORD}
ME = "/api/v1/users/me"


@pytest.fixture
async def owner(client: AsyncClient, session: AsyncSession) -> SignedIn:
    return await signed_in(client, session)


class TestCreate:
    async def test_the_key_is_shown_once_and_only_its_hash_is_stored(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        body = {"name": "ci", "scopes": ["items:write", "items:read"], **PASSWORD}

        response = await client.post(KEYS, json=body, headers=owner.headers)

        assert response.status_code == 201, response.text
        created = response.json()
        key = created["key"]
        assert key.startswith(KEY_PREFIX)
        assert len(key) == len(KEY_PREFIX) + 43
        assert created["prefix"] == key[: len(KEY_PREFIX) + 4]
        assert (created["name"], created["scopes"]) == ("ci", ["items:read", "items:write"])
        assert (created["last_used_at"], created["expires_at"]) == (None, None)
        stored = await session.scalar(select(ApiKey).where(ApiKey.id == uuid.UUID(created["id"])))
        assert stored is not None
        assert stored.token_hash == hashlib.sha256(key.encode()).hexdigest()
        listed = (await client.get(KEYS, headers=owner.headers)).json()
        assert [entry["id"] for entry in listed] == [created["id"]]
        assert "key" not in listed[0]

    @pytest.mark.parametrize(
        ("scopes", "message"),
        [
            (["items:fly"], "unknown permissions: items:fly"),
            (["*"], "unknown permissions: *"),
            (["account:manage"], "not for API keys: account:manage"),
            ([], "at least 1 item"),
        ],
    )
    async def test_scopes_are_declared_and_not_personal(
        self, client: AsyncClient, owner: SignedIn, scopes: list[str], message: str
    ) -> None:
        response = await client.post(
            KEYS, json={"name": "x", "scopes": scopes, **PASSWORD}, headers=owner.headers
        )

        body = assert_error(response, 422, "VALIDATION_ERROR")
        assert message in body["errors"][0]["msg"]

    async def test_a_scope_the_owner_does_not_hold_is_403(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        body = {"name": "x", "scopes": ["users:admin"], **PASSWORD}

        response = await client.post(KEYS, json=body, headers=owner.headers)

        assert assert_error(response, 403, "PERMISSION_DENIED")["detail"].endswith("users:admin")

    async def test_an_expiry_in_the_past_is_422(self, client: AsyncClient, owner: SignedIn) -> None:
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        body = {"name": "x", "scopes": ["items:read"], "expires_at": past, **PASSWORD}

        response = await client.post(KEYS, json=body, headers=owner.headers)

        assert_error(response, 422, "VALIDATION_ERROR")


class TestUse:
    async def test_a_key_acts_as_its_owner_within_its_scopes(
        self, client: AsyncClient, owner: SignedIn
    ) -> None:
        created = await client.post(ITEMS, json={"title": "mine"}, headers=owner.headers)
        reader = await api_key(client, owner, "items:read", "account:read")

        read = await client.get(f"{ITEMS}/{created.json()['id']}", headers=reader)
        written = await client.post(ITEMS, json={"title": "by key"}, headers=reader)

        assert read.json()["title"] == "mine"
        assert assert_error(written, 403, "PERMISSION_DENIED")["detail"].endswith("items:write")
        assert (await client.get(ME, headers=reader)).json()["id"] == str(owner.user.id)

    async def test_an_admins_key_sees_only_what_its_scopes_allow(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        admin = await signed_in(client, session, is_superuser=True)
        await client.post(ITEMS, json={"title": "not the admin's"}, headers=owner.headers)
        key = await api_key(client, admin, "items:read")

        listed = await client.get(ITEMS, headers=key)

        assert listed.json()["total"] == 0
        assert_error(await client.get("/api/v1/users", headers=key), 403, "PERMISSION_DENIED")

    async def test_it_loses_what_its_owner_loses(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        reader = await create_role(session, "items:read", "account:manage")
        owner = await signed_in(client, session, roles=(reader.name,))
        key = await api_key(client, owner, "items:read")
        assert (await client.get(ITEMS, headers=key)).status_code == 200

        await client.patch(
            f"/api/v1/roles/{reader.id}",
            json={"permissions": ["account:manage"]},
            headers=(await signed_in(client, session, is_superuser=True)).headers,
        )

        assert_error(await client.get(ITEMS, headers=key), 403, "PERMISSION_DENIED")

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", KEYS),
            ("POST", KEYS),
            ("GET", "/api/v1/auth/sessions"),
            ("POST", "/api/v1/auth/password"),
        ],
    )
    async def test_it_cannot_manage_keys_sessions_or_the_password(
        self, client: AsyncClient, owner: SignedIn, method: str, path: str
    ) -> None:
        key = await api_key(client, owner, "items:read")

        response = await client.request(method, path, json={}, headers=key)

        assert_error(response, 403, "PERMISSION_DENIED")

    @pytest.mark.parametrize("path", ["/api/v1/auth/logout", "/api/v1/auth/logout-all"])
    async def test_it_has_no_session_to_end(
        self, client: AsyncClient, owner: SignedIn, path: str
    ) -> None:
        key = await api_key(client, owner, "account:read")

        assert_error(await client.post(path, headers=key), 403, "FORBIDDEN")
        assert (await client.get(ME, headers=key)).status_code == 200

    async def test_last_used_at_is_written_at_most_once_a_minute(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        key = await api_key(client, owner, "account:read")

        await client.get(ME, headers=key)
        first = (await client.get(KEYS, headers=owner.headers)).json()[0]["last_used_at"]
        await client.get(ME, headers=key)
        second = (await client.get(KEYS, headers=owner.headers)).json()[0]["last_used_at"]

        assert first is not None
        assert second == first


class TestEnd:
    async def test_revocation_is_at_once(self, client: AsyncClient, owner: SignedIn) -> None:
        key = await api_key(client, owner, "account:read")
        key_id = (await client.get(KEYS, headers=owner.headers)).json()[0]["id"]
        await client.get(ME, headers=key)

        revoked = await client.delete(f"{KEYS}/{key_id}", headers=owner.headers)

        assert revoked.status_code == 204
        assert_error(await client.get(ME, headers=key), 401, "UNAUTHORIZED")
        assert (await client.get(ME, headers=owner.headers)).status_code == 200

    async def test_another_users_key_is_404(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        await api_key(client, owner, "account:read")
        key_id = (await client.get(KEYS, headers=owner.headers)).json()[0]["id"]
        other = await signed_in(client, session)

        assert_error(
            await client.delete(f"{KEYS}/{key_id}", headers=other.headers), 404, "NOT_FOUND"
        )

    async def test_an_expired_key_is_401(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        key = await api_key(client, owner, "account:read", expires_at=soon)
        stored = (await session.scalars(select(ApiKey))).one()
        stored.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        await session.commit()

        assert_error(await client.get(ME, headers=key), 401, "UNAUTHORIZED")

    @pytest.mark.parametrize("change", ["deactivate", "delete"])
    async def test_it_dies_with_its_owner(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn, change: str
    ) -> None:
        key = await api_key(client, owner, "account:read")
        admin = await signed_in(client, session, is_superuser=True)

        if change == "deactivate":
            await client.patch(
                user_url(owner.user.id), json={"is_active": False}, headers=admin.headers
            )
        else:
            await client.delete(user_url(owner.user.id), headers=admin.headers)

        assert_error(await client.get(ME, headers=key), 401, "UNAUTHORIZED")

    async def test_an_unknown_key_is_401(self, client: AsyncClient) -> None:
        headers = {"Authorization": f"Bearer {KEY_PREFIX}{'x' * 43}"}

        response = await client.get(ME, headers=headers)

        assert_error(response, 401, "UNAUTHORIZED")
        assert response.headers["WWW-Authenticate"] == "Bearer"


class TestAdministration:
    async def test_an_admin_lists_and_revokes_any_users_keys(
        self, client: AsyncClient, session: AsyncSession, owner: SignedIn
    ) -> None:
        key = await api_key(client, owner, "account:read")
        admin = await signed_in(client, session, is_superuser=True)
        url = f"{user_url(owner.user.id)}/api-keys"

        listed = (await client.get(url, headers=admin.headers)).json()
        revoked = await client.delete(f"{url}/{listed[0]['id']}", headers=admin.headers)

        assert [entry["name"] for entry in listed] == ["test"]
        assert revoked.status_code == 204
        assert_error(await client.get(ME, headers=key), 401, "UNAUTHORIZED")

    async def test_others_get_403(self, client: AsyncClient, owner: SignedIn) -> None:
        url = f"{user_url(owner.user.id)}/api-keys"

        assert_error(await client.get(url, headers=owner.headers), 403, "PERMISSION_DENIED")
