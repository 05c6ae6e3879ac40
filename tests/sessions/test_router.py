"""Bearer tokens and the sessions behind them over HTTP: storage, expiry, listing, revoking,
logging out."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from tests.assertions import assert_error
from tests.sessions.factories import stored_sessions
from tests.users.factories import bearer, create_user, login, signed_in

ME = "/api/v1/users/me"


class TestTokens:
    async def test_only_the_sha256_of_the_token_is_stored(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        token = await login(client, user.email)

        (stored,) = await stored_sessions(session, user)

        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in {stored.token_hash, str(stored.id)}

    async def test_the_stored_hash_is_not_a_valid_token(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        await login(client, user.email)
        (stored,) = await stored_sessions(session, user)

        response = await client.get(ME, headers=bearer(stored.token_hash))

        assert_error(response, 401, "UNAUTHORIZED")

    @pytest.mark.parametrize("order", ["alice-first", "bob-first", "same-twice"])
    async def test_two_authorization_headers_authenticate_nobody(
        self, client: AsyncClient, session: AsyncSession, order: str
    ) -> None:
        alice = await login(client, (await create_user(session)).email)
        bob = await login(client, (await create_user(session)).email)
        tokens = {
            "alice-first": (alice, bob),
            "bob-first": (bob, alice),
            "same-twice": (alice,) * 2,
        }
        headers = [("Authorization", f"Bearer {token}") for token in tokens[order]]

        response = await client.get(ME, headers=headers)

        assert_error(response, 400, "BAD_REQUEST")
        assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_request"'

    async def test_token_in_the_url_is_ignored(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        token = await login(client, user.email)

        response = await client.get(ME, params={"access_token": token, "token": token})

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"

    async def test_other_schemes_are_refused(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        token = await login(client, user.email)

        response = await client.get(ME, headers={"Authorization": f"Basic {token}"})

        assert response.status_code == 401


class TestExpiry:
    @pytest.fixture
    def clock(self, app: FastAPI) -> list[datetime]:
        """The app's clock, moved by the test: `clock[0] += timedelta(...)`."""
        now = [datetime.now(UTC)]
        app.state.clock = lambda: now[0]
        return now

    async def test_idle_session_expires(
        self, client: AsyncClient, session: AsyncSession, clock: list[datetime]
    ) -> None:
        _user, headers = await signed_in(client, session)

        clock[0] += timedelta(hours=24, seconds=1)

        assert (await client.get(ME, headers=headers)).status_code == 401

    async def test_use_keeps_a_session_alive(
        self, client: AsyncClient, session: AsyncSession, clock: list[datetime]
    ) -> None:
        _user, headers = await signed_in(client, session)

        for _ in range(3):
            clock[0] += timedelta(hours=20)
            assert (await client.get(ME, headers=headers)).status_code == 200

    async def test_absolute_lifetime_ends_even_a_busy_session(
        self, client: AsyncClient, session: AsyncSession, clock: list[datetime]
    ) -> None:
        _user, headers = await signed_in(client, session)

        for _ in range(14):
            clock[0] += timedelta(hours=23)
            assert (await client.get(ME, headers=headers)).status_code == 200
        clock[0] += timedelta(hours=23)

        assert (await client.get(ME, headers=headers)).status_code == 401

    async def test_last_used_at_is_written_at_most_once_a_minute(
        self, client: AsyncClient, session: AsyncSession, clock: list[datetime]
    ) -> None:
        user, headers = await signed_in(client, session)
        started = clock[0]

        clock[0] += timedelta(seconds=30)
        await client.get(ME, headers=headers)
        (stored,) = await stored_sessions(session, user)
        await session.refresh(stored)
        assert stored.last_used_at == started

        clock[0] += timedelta(seconds=31)
        await client.get(ME, headers=headers)
        await session.refresh(stored)
        assert stored.last_used_at == clock[0]


class TestSessions:
    async def test_list_marks_the_current_session(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        first = bearer(await login(client, user.email))
        await login(client, user.email)

        response = await client.get(
            "/api/v1/auth/sessions", headers={**first, "User-Agent": "phone"}
        )

        assert response.status_code == 200
        sessions = response.json()
        assert len(sessions) == 2
        assert [s["current"] for s in sessions].count(True) == 1
        assert set(sessions[0]) == {
            "id",
            "created_at",
            "last_used_at",
            "expires_at",
            "user_agent",
            "ip",
            "current",
        }

    async def test_revoke_one_of_my_sessions(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        keep = bearer(await login(client, user.email))
        other = bearer(await login(client, user.email))
        listed = (await client.get("/api/v1/auth/sessions", headers=keep)).json()
        other_id = next(s["id"] for s in listed if not s["current"])

        response = await client.delete(f"/api/v1/auth/sessions/{other_id}", headers=keep)

        assert response.status_code == 204
        assert (await client.get(ME, headers=other)).status_code == 401
        assert (await client.get(ME, headers=keep)).status_code == 200

    async def test_another_users_session_is_404(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        victim, victim_headers = await signed_in(client, session)
        _attacker, attacker_headers = await signed_in(client, session)
        (victim_session,) = await stored_sessions(session, victim)

        response = await client.delete(
            f"/api/v1/auth/sessions/{victim_session.id}", headers=attacker_headers
        )

        assert_error(response, 404, "NOT_FOUND")
        assert (await client.get(ME, headers=victim_headers)).status_code == 200


class TestLogout:
    async def test_logout_revokes_this_token_only(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        this = bearer(await login(client, user.email))
        other = bearer(await login(client, user.email))

        response = await client.post("/api/v1/auth/logout", headers=this)

        assert response.status_code == 204
        assert (await client.get(ME, headers=this)).status_code == 401
        assert (await client.get(ME, headers=other)).status_code == 200

    async def test_logout_all_revokes_every_token(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        tokens = [bearer(await login(client, user.email)) for _ in range(3)]

        response = await client.post("/api/v1/auth/logout-all", headers=tokens[0])

        assert response.status_code == 204
        for headers in tokens:
            assert (await client.get(ME, headers=headers)).status_code == 401

    async def test_logout_without_token_is_401(self, client: AsyncClient) -> None:
        response = await client.post("/api/v1/auth/logout")

        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
