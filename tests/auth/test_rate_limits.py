"""Failed logins per email and per IP, registrations per IP; memory and Redis storage."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from tests.assertions import assert_error
from tests.conftest import http_client, running_app
from tests.users.factories import DEFAULT_PASSWORD, create_user, signed_in, unique_email

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
REDIS_URL = "redis://127.0.0.1:6379/0"


async def fail_login(app: FastAPI, email: str, ip: str = "10.0.0.1") -> int:
    """One failed login from `ip` (the ASGI transport sets the client address)."""
    transport = ASGITransport(app=app, client=(ip, 1234))
    async with AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.post(LOGIN, json={"email": email, "password": "wrong-password"})
    return response.status_code


@pytest.fixture
async def limited_app(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    request: pytest.FixtureRequest,
) -> AsyncIterator[FastAPI]:
    """The app with the limits given by the test's `limits` marker."""
    marker = request.node.get_closest_marker("limits")
    configured = settings.model_copy(update=marker.kwargs if marker else {})
    async with running_app(configured, sessionmaker=sessionmaker) as application:
        yield application


@pytest.fixture
async def limited_client(limited_app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with http_client(limited_app) as client:
        yield client


class TestLoginLimitPerEmail:
    @pytest.mark.limits(rate_limit_login_email="3/minute", rate_limit_login_ip="")
    async def test_trips_after_the_configured_failures(
        self, limited_app: FastAPI, limited_client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)

        codes = [await fail_login(limited_app, user.email) for _ in range(4)]
        response = await limited_client.post(
            LOGIN, json={"email": user.email, "password": DEFAULT_PASSWORD}
        )

        assert codes == [401, 401, 401, 429]
        assert_error(response, 429, "RATE_LIMITED")
        assert 0 < int(response.headers["Retry-After"]) <= 60

    @pytest.mark.limits(rate_limit_login_email="3/minute", rate_limit_login_ip="")
    async def test_counts_every_spelling_of_an_address_as_one(self, limited_app: FastAPI) -> None:
        spellings = [
            "e@xn--exmple-cua.com",
            "E@EXÄMPLE.COM",
            " e@exämple.com",
            "e@\uff45\uff58ä\uff4d\uff50\uff4c\uff45.com",
        ]

        codes = [await fail_login(limited_app, email) for email in spellings]

        assert codes == [401, 401, 401, 429]

    @pytest.mark.limits(rate_limit_login_email="3/minute", rate_limit_login_ip="")
    async def test_counts_per_email_across_ips(self, limited_app: FastAPI) -> None:
        email = unique_email()

        codes = [await fail_login(limited_app, email, ip=f"10.0.0.{n}") for n in range(4)]

        assert codes == [401, 401, 401, 429]

    @pytest.mark.limits(rate_limit_login_email="3/minute", rate_limit_login_ip="")
    async def test_other_emails_are_not_affected(self, limited_app: FastAPI) -> None:
        email = unique_email()
        for _ in range(3):
            await fail_login(limited_app, email)

        assert await fail_login(limited_app, unique_email()) == 401

    @pytest.mark.limits(rate_limit_login_email="2/second", rate_limit_login_ip="")
    async def test_resets_after_the_window(
        self, limited_app: FastAPI, limited_client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)
        await fail_login(limited_app, user.email)
        await fail_login(limited_app, user.email)
        assert await fail_login(limited_app, user.email) == 429

        await asyncio.sleep(1.1)

        response = await limited_client.post(
            LOGIN, json={"email": user.email, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 200

    @pytest.mark.limits(rate_limit_login_email="2/minute", rate_limit_login_ip="")
    async def test_successful_logins_do_not_count(
        self, limited_client: AsyncClient, session: AsyncSession
    ) -> None:
        user = await create_user(session)

        codes = [
            (
                await limited_client.post(
                    LOGIN, json={"email": user.email, "password": DEFAULT_PASSWORD}
                )
            ).status_code
            for _ in range(4)
        ]

        assert codes == [200, 200, 200, 200]

    @pytest.mark.limits(rate_limit_login_email="", rate_limit_login_ip="")
    async def test_empty_rule_turns_the_limit_off(self, limited_app: FastAPI) -> None:
        email = unique_email()

        codes = {await fail_login(limited_app, email) for _ in range(8)}

        assert codes == {401}


class TestCurrentPasswordGuesses:
    """A signed-in session confirming a change with the current password guesses no faster
    than a login: wrong guesses count against the address's login limit."""

    @pytest.mark.limits(
        rate_limit_login_email="3/minute", rate_limit_login_ip="", rate_limit_account_mail=""
    )
    @pytest.mark.parametrize(
        ("path", "body"),
        [
            ("/api/v1/auth/password", {"new_password": "brand new secret"}),
            ("/api/v1/users/me/email", {"new_email": "elsewhere@example.com"}),
        ],
    )
    async def test_wrong_current_passwords_trip_the_login_limit(
        self, limited_client: AsyncClient, session: AsyncSession, path: str, body: dict[str, str]
    ) -> None:
        user, headers = await signed_in(limited_client, session)
        guess = {**body, "current_password": "not my password"}

        codes = [
            (await limited_client.post(path, json=guess, headers=headers)).status_code
            for _ in range(4)
        ]
        right = {**body, "current_password": DEFAULT_PASSWORD}
        confirmed = await limited_client.post(path, json=right, headers=headers)
        login = await limited_client.post(
            LOGIN, json={"email": user.email, "password": DEFAULT_PASSWORD}
        )

        assert codes == [422, 422, 422, 429]
        assert_error(confirmed, 429, "RATE_LIMITED")
        assert_error(login, 429, "RATE_LIMITED")


class TestLoginLimitPerIp:
    @pytest.mark.limits(rate_limit_login_email="", rate_limit_login_ip="3/minute")
    async def test_trips_across_emails_from_one_ip(self, limited_app: FastAPI) -> None:
        codes = [await fail_login(limited_app, unique_email(), ip="10.9.9.9") for _ in range(4)]

        assert codes == [401, 401, 401, 429]
        assert await fail_login(limited_app, unique_email(), ip="10.9.9.8") == 401


class TestRegisterLimitPerIp:
    @pytest.mark.limits(rate_limit_register_ip="2/hour")
    async def test_trips_at_the_configured_count(self, limited_client: AsyncClient) -> None:
        codes = [
            (
                await limited_client.post(
                    REGISTER, json={"email": unique_email(), "password": DEFAULT_PASSWORD}
                )
            ).status_code
            for _ in range(3)
        ]

        assert codes == [201, 201, 429]


class TestSharedThroughRedis:
    @pytest.fixture
    async def pair(
        self, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
    ) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
        """Two app instances sharing one Redis, with keys of their own for this test."""
        shared = settings.model_copy(
            update={
                "redis_url": REDIS_URL,
                "app_name": f"test-{uuid.uuid4().hex}",
                "rate_limit_login_email": "3/minute",
                "rate_limit_login_ip": "",
            }
        )
        async with (
            running_app(shared, sessionmaker=sessionmaker) as first,
            running_app(shared, sessionmaker=sessionmaker) as second,
        ):
            yield first, second
        redis = Redis.from_url(REDIS_URL)
        keys = [key async for key in redis.scan_iter(f"{shared.app_name}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()

    async def test_failures_on_one_instance_count_on_the_other(
        self, pair: tuple[FastAPI, FastAPI]
    ) -> None:
        first, second = pair
        email = unique_email()

        codes = [
            await fail_login(first, email),
            await fail_login(second, email),
            await fail_login(first, email),
            await fail_login(second, email),
        ]

        assert codes == [401, 401, 401, 429]
