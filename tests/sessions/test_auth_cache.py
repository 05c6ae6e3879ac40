"""The auth cache over HTTP: a token's lookup is reused without a statement, and every change
of access through the API is seen by the very next request; without Redis it is on only for a
single process, and with Redis off while the subscription is down."""

import asyncio
import shutil
import subprocess
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from redis.asyncio import Redis
from sqlalchemy import event, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.metrics import MULTIPROCESS_DIR
from app.identity.auth_cache import LocalRevocations
from app.identity.models import User
from tests.assertions import assert_error
from tests.conftest import http_client, running_app
from tests.live import free_port
from tests.roles.factories import create_role
from tests.users.factories import DEFAULT_PASSWORD, SignedIn, bearer, login, signed_in, user_url

ME = "/api/v1/users/me"
LOGOUT = "/api/v1/auth/logout"
REDIS_URL = "redis://127.0.0.1:6379/13"
TTL = timedelta(minutes=5)
REDIS_SERVER = shutil.which("redis-server") or ""
REDIS_CLI = shutil.which("redis-cli") or ""


async def until(condition: Callable[[], bool], seconds: float = 5) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 - the state is the app's, with no event to wait on
            await asyncio.sleep(0.01)


def cache_on(app: FastAPI) -> bool:
    return bool(app.state.revocations and app.state.revocations.cache.enabled)


@asynccontextmanager
async def cached_app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], redis_url: str
) -> AsyncIterator[FastAPI]:
    """The app with its cache on: Redis, a long TTL, and the subscription confirmed."""
    cached = settings.model_copy(update={"redis_url": redis_url, "auth_cache_ttl": TTL})
    async with running_app(cached, sessionmaker=sessionmaker) as app:
        await until(lambda: cache_on(app))
        yield app


@pytest.fixture
async def app(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[FastAPI]:
    async with cached_app(settings, sessionmaker, REDIS_URL) as application:
        yield application
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()
    await redis.aclose()


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements run meanwhile."""
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def second_session(client: AsyncClient, user: SignedIn) -> dict[str, str]:
    return bearer(await login(client, user.user.email))


async def deactivate_behind_the_apps_back(session: AsyncSession, user: User) -> None:
    """A write the app never hears of (a manual SQL fix, say)."""
    await session.execute(update(User).where(User.id == user.id).values(is_active=False))
    await session.commit()


@asynccontextmanager
async def without_redis(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    engine: AsyncEngine,
) -> AsyncIterator[tuple[FastAPI, AsyncClient, SignedIn, list[str]]]:
    """The app without Redis, its client, a signed-in user, and the statements of their
    second request (the first wrote down the session's use)."""
    async with (
        running_app(settings, sessionmaker=sessionmaker) as app,
        http_client(app) as client,
    ):
        user = await signed_in(client, session)
        await client.get(ME, headers=user.headers)
        with statements(engine) as again:
            assert (await client.get(ME, headers=user.headers)).status_code == 200
        yield app, client, user, again


class TestReuse:
    async def test_a_lookup_is_reused_without_a_statement(
        self, client: AsyncClient, session: AsyncSession, engine: AsyncEngine
    ) -> None:
        user = await signed_in(client, session)
        with statements(engine) as first:
            assert (await client.get(ME, headers=user.headers)).status_code == 200
        with statements(engine) as again:
            response = await client.get(ME, headers=user.headers)

        assert first
        assert again == []
        assert response.json()["email"] == user.user.email

    async def test_one_process_without_redis_caches_and_revokes_locally(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        session: AsyncSession,
        engine: AsyncEngine,
    ) -> None:
        async with without_redis(settings, sessionmaker, session, engine) as (
            app,
            client,
            user,
            again,
        ):
            assert (await client.post(LOGOUT, headers=user.headers)).status_code == 204
            after_logout = await client.get(ME, headers=user.headers)

        assert isinstance(app.state.revocations, LocalRevocations)
        assert again == []
        assert_error(after_logout, 401, "UNAUTHORIZED")

    async def test_several_workers_without_redis_look_every_token_up(
        self,
        settings: Settings,
        sessionmaker: async_sessionmaker[AsyncSession],
        session: AsyncSession,
        engine: AsyncEngine,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        # What `app serve --workers N` sets: another worker's revocations could not reach this one.
        monkeypatch.setenv(MULTIPROCESS_DIR, str(tmp_path))
        async with without_redis(settings, sessionmaker, session, engine) as (app, *_, again):
            pass

        assert app.state.revocations is None
        assert again

    async def test_a_write_outside_the_app_is_seen_once_the_ttl_is_over(
        self, app: FastAPI, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await signed_in(client, session)
        await client.get(ME, headers=user.headers)
        await deactivate_behind_the_apps_back(session, user.user)
        cache = app.state.revocations.cache
        real_clock = cache.clock

        assert (await client.get(ME, headers=user.headers)).status_code == 200
        cache.clock = lambda: real_clock() + TTL.total_seconds()
        assert_error(await client.get(ME, headers=user.headers), 401, "UNAUTHORIZED")

    async def test_last_used_at_is_still_written_when_due(
        self, app: FastAPI, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await signed_in(client, session)
        await client.get(ME, headers=user.headers)
        later = app.state.clock() + app.state.settings.session_touch_interval
        app.state.clock = lambda: later

        await client.get(ME, headers=user.headers)
        sessions = (await client.get("/api/v1/auth/sessions", headers=user.headers)).json()

        assert sessions[0]["last_used_at"] == later.isoformat().replace("+00:00", "Z")


class TestRevocation:
    """Each change of access, then the next request with a token it concerns (cached first)."""

    async def test_logout(self, client: AsyncClient, session: AsyncSession) -> None:
        user = await signed_in(client, session)
        await client.get(ME, headers=user.headers)

        await client.post("/api/v1/auth/logout", headers=user.headers)

        assert_error(await client.get(ME, headers=user.headers), 401, "UNAUTHORIZED")

    async def test_logout_everywhere(self, client: AsyncClient, session: AsyncSession) -> None:
        user = await signed_in(client, session)
        other = await second_session(client, user)
        for headers in (user.headers, other):
            await client.get(ME, headers=headers)

        await client.post("/api/v1/auth/logout-all", headers=user.headers)

        for headers in (user.headers, other):
            assert_error(await client.get(ME, headers=headers), 401, "UNAUTHORIZED")

    async def test_revoking_another_session(
        self, client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await signed_in(client, session)
        other = await second_session(client, user)
        await client.get(ME, headers=other)
        sessions = (await client.get("/api/v1/auth/sessions", headers=user.headers)).json()
        (revoked,) = [s["id"] for s in sessions if not s["current"]]

        await client.delete(f"/api/v1/auth/sessions/{revoked}", headers=user.headers)

        assert_error(await client.get(ME, headers=other), 401, "UNAUTHORIZED")
        assert (await client.get(ME, headers=user.headers)).status_code == 200

    async def test_password_change(self, client: AsyncClient, session: AsyncSession) -> None:
        user = await signed_in(client, session)
        other = await second_session(client, user)
        await client.get(ME, headers=other)
        url = "/api/v1/auth/password"

        changed = await client.post(
            url,
            json={"current_password": DEFAULT_PASSWORD, "new_password": "a new passphrase 1"},
            headers=user.headers,
        )
        # This session is kept, and its next check uses the new password, not a cached hash.
        again = await client.post(
            url,
            json={"current_password": "a new passphrase 1", "new_password": "and another one 2"},
            headers=user.headers,
        )

        assert (changed.status_code, again.status_code) == (204, 204)
        assert_error(await client.get(ME, headers=other), 401, "UNAUTHORIZED")

    async def test_profile_update(self, client: AsyncClient, session: AsyncSession) -> None:
        user = await signed_in(client, session)
        await client.get(ME, headers=user.headers)

        await client.patch(ME, json={"full_name": "Renamed"}, headers=user.headers)

        assert (await client.get(ME, headers=user.headers)).json()["full_name"] == "Renamed"

    async def test_role_changes(self, client: AsyncClient, session: AsyncSession) -> None:
        admin = await signed_in(client, session, is_superuser=True)
        role = await create_role(session, "account:read")
        user = await signed_in(client, session, roles=(role.name,))
        assert (await client.get(ME, headers=user.headers)).json()["roles"] == [role.name]
        url = f"/api/v1/roles/{role.id}"

        await client.patch(url, json={"name": "renamed"}, headers=admin.headers)
        renamed = await client.get(ME, headers=user.headers)
        await client.patch(url, json={"permissions": []}, headers=admin.headers)
        emptied = await client.get(ME, headers=user.headers)

        assert renamed.json()["roles"] == ["renamed"]
        assert_error(emptied, 403, "PERMISSION_DENIED")

    @pytest.mark.parametrize(
        ("change", "status"),
        [({"is_active": False}, 401), ({"is_superuser": False}, 403), (None, 401)],
        ids=["deactivated", "demoted", "deleted"],
    )
    async def test_administration(
        self,
        client: AsyncClient,
        session: AsyncSession,
        change: dict[str, bool] | None,
        status: int,
    ) -> None:
        admin = await signed_in(client, session, is_superuser=True)
        user = await signed_in(client, session, is_superuser=True)
        await client.get("/api/v1/users", headers=user.headers)

        if change is None:
            await client.delete(user_url(user.user.id), headers=admin.headers)
        else:
            await client.patch(user_url(user.user.id), json=change, headers=admin.headers)

        assert (await client.get("/api/v1/users", headers=user.headers)).status_code == status


@pytest.fixture
def redis_port() -> Iterator[int]:
    """A Redis server of the test's own, which it may stop and start."""
    if not (REDIS_SERVER and REDIS_CLI):
        pytest.skip("needs redis-server and redis-cli")
    port = free_port()
    yield port
    stop_redis(port)


def start_redis(port: int) -> None:
    options = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "yes"]
    subprocess.run([REDIS_SERVER, "--port", str(port), *options], check=True, capture_output=True)


def stop_redis(port: int) -> None:
    subprocess.run([REDIS_CLI, "-p", str(port), "shutdown", "nosave"], capture_output=True)


async def test_a_redis_outage_turns_the_cache_off_until_it_is_back(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    engine: AsyncEngine,
    redis_port: int,
) -> None:
    start_redis(redis_port)
    url = f"redis://127.0.0.1:{redis_port}/0"
    async with cached_app(settings, sessionmaker, url) as app, http_client(app) as client:
        user = await signed_in(client, session)
        await client.get(ME, headers=user.headers)

        stop_redis(redis_port)
        await until(lambda: not cache_on(app))
        await deactivate_behind_the_apps_back(session, user.user)
        assert_error(await client.get(ME, headers=user.headers), 401, "UNAUTHORIZED")

        start_redis(redis_port)
        await until(lambda: cache_on(app), seconds=10)
        other = await signed_in(client, session)
        await client.get(ME, headers=other.headers)
        with statements(engine) as again:
            assert (await client.get(ME, headers=other.headers)).status_code == 200
        assert again == []
