"""Database and Redis outages through a TCP proxy the test cuts, black-holes and restores:
bounded 503s with Retry-After, readiness follows, liveness stays, recovery without a restart
and without leaked connections. The database part needs PostgreSQL (SQLite has no network)."""

import asyncio
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from tests.conftest import http_client, running_app
from tests.reliability.proxy import TcpProxy
from tests.users.factories import unique_email

needs_postgres = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)

CONNECT_TIMEOUT = 1.0
COMMAND_TIMEOUT = 2.0
POOL_TIMEOUT = 2.0
# The longest a request may take during an outage: a pool wait, a connect and a statement.
BOUND = POOL_TIMEOUT + CONNECT_TIMEOUT + COMMAND_TIMEOUT + 1.0
PASSWORD = "outage password"


@dataclass
class Answer:
    sent: float
    elapsed: float
    status: int
    error_code: str | None
    retry_after: str | None


async def call(client: AsyncClient, method: str, url: str, **kwargs: object) -> Answer:
    sent = time.monotonic()
    response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
    body = response.json() if response.content else {}
    return Answer(
        sent,
        time.monotonic() - sent,
        response.status_code,
        body.get("error_code") if isinstance(body, dict) else None,
        response.headers.get("retry-after"),
    )


async def load(
    client: AsyncClient, headers: dict[str, str], stop: asyncio.Event, answers: list[Answer]
) -> None:
    """One client reading and writing in a loop until `stop`."""
    while not stop.is_set():
        answers.append(await call(client, "GET", "/api/v1/users/me", headers=headers))
        answers.append(
            await call(client, "POST", "/api/v1/items", json={"title": "t"}, headers=headers)
        )


@pytest.fixture
def database_proxy(settings: Settings) -> Iterator[TcpProxy]:
    url = make_url(settings.database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        yield proxy


@pytest.fixture
async def proxied_app(
    engine: AsyncEngine, settings: Settings, database_proxy: TcpProxy
) -> AsyncIterator[FastAPI]:
    url = make_url(settings.database_url).set(host="127.0.0.1", port=database_proxy.port)
    proxied = settings.model_copy(
        update={
            "database_url": url.render_as_string(hide_password=False),
            "db_pool_size": 4,
            "db_max_overflow": 0,
            "db_pool_timeout": POOL_TIMEOUT,
            "db_connect_timeout": CONNECT_TIMEOUT,
            "db_command_timeout": COMMAND_TIMEOUT,
        }
    )
    async with running_app(proxied) as application:
        yield application


async def sign_in(client: AsyncClient) -> dict[str, str]:
    credentials = {"email": unique_email(), "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=credentials)).status_code == 201
    token = (await client.post("/api/v1/auth/login", json=credentials)).json()["access_token"]
    return {"Authorization": f"Bearer {token}"}


async def outage(
    app: FastAPI, fail: Callable[[], None], restore: Callable[[], None]
) -> tuple[list[Answer], float, float]:
    """Eight clients under load; `fail` after a second, `restore` three seconds later.
    Returns every answer, the failure time and the recovery time (first 200 after restore)."""
    async with http_client(app) as client:
        headers = await sign_in(client)
        stop = asyncio.Event()
        answers: list[Answer] = []
        clients = [asyncio.create_task(load(client, headers, stop, answers)) for _ in range(8)]
        await asyncio.sleep(1)
        failed_at = time.monotonic()
        fail()
        await asyncio.sleep(3)
        ready = await call(client, "GET", "/health/ready")
        live = await call(client, "GET", "/health/live")
        restore()
        restored_at = time.monotonic()
        recovered = await call(client, "GET", "/api/v1/users/me", headers=headers)
        while recovered.status != 200 and time.monotonic() - restored_at < BOUND * 2:
            recovered = await call(client, "GET", "/api/v1/users/me", headers=headers)
        stop.set()
        await asyncio.wait_for(asyncio.gather(*clients), timeout=BOUND * 2)
    assert ready.status == 503
    assert ready.error_code == "SERVICE_UNAVAILABLE"
    assert live.status == 200
    assert recovered.status == 200, "the app did not recover without a restart"
    return answers, failed_at, time.monotonic() - restored_at


def assert_bounded_503s(answers: list[Answer], failed_at: float) -> float:
    """Every answer is a 2xx or a 503 with Retry-After within BOUND; returns the time from the
    failure to the first 503."""
    assert answers, "no request completed"
    for answer in answers:
        assert answer.status in {200, 201, 503}, answer
        assert answer.elapsed < BOUND, answer
        if answer.status == 503:
            assert answer.error_code == "SERVICE_UNAVAILABLE"
            assert answer.retry_after is not None
    first_503 = min(
        (answer.sent + answer.elapsed for answer in answers if answer.status == 503), default=None
    )
    assert first_503 is not None, "the outage never showed"
    return first_503 - failed_at


def assert_no_leaked_connections(app: FastAPI, proxy: TcpProxy) -> None:
    pool = app.state.engine.pool
    assert pool.checkedout() == 0
    assert proxy.connections <= pool.size()


@needs_postgres
@pytest.mark.parametrize(
    "failure",
    [
        pytest.param("cut", id="connections reset and refused"),
        pytest.param("blackhole", id="network partition"),
    ],
)
async def test_database_outage(
    proxied_app: FastAPI,
    database_proxy: TcpProxy,
    failure: str,
    record_property: Callable[..., None],
) -> None:
    answers, failed_at, recovery = await outage(
        proxied_app, getattr(database_proxy, failure), database_proxy.restore
    )

    first_503 = assert_bounded_503s(answers, failed_at)
    assert_no_leaked_connections(proxied_app, database_proxy)
    record_property("first_503_seconds", round(first_503, 3))
    record_property("recovery_seconds", round(recovery, 3))


# The per-IP limits would count every run's requests from 127.0.0.1 in the shared Redis.
ONLY_THE_EMAIL_LIMIT = {
    "rate_limit_login_email": "3/minute",
    "rate_limit_login_ip": "",
    "rate_limit_register_ip": "",
}


@pytest.fixture
def redis_proxy() -> Iterator[TcpProxy]:
    with TcpProxy("127.0.0.1", 6379) as proxy:
        yield proxy


class TestRedisOutage:
    """Without Redis, rate limits go on holding in each process's memory and readiness
    reports it; a Redis that hangs costs a request at most `REDIS_TIMEOUT` once, and turns the
    auth caches off; nothing answers 500."""

    async def test_rate_limits_degrade_and_readiness_follows(
        self, engine: AsyncEngine, settings: Settings, redis_proxy: TcpProxy
    ) -> None:
        configured = settings.model_copy(
            update={
                "redis_url": f"redis://127.0.0.1:{redis_proxy.port}/0",
                "db_connect_timeout": CONNECT_TIMEOUT,
                **ONLY_THE_EMAIL_LIMIT,
            }
        )
        async with running_app(configured) as app, http_client(app) as client:
            credentials = {"email": unique_email(), "password": PASSWORD}
            other = {"email": unique_email(), "password": PASSWORD}
            wrong = {**credentials, "password": "not the password"}
            for account in (credentials, other):
                registered = await client.post("/api/v1/auth/register", json=account)
                assert registered.status_code == 201
            assert (await call(client, "GET", "/health/ready")).status == 200

            redis_proxy.cut()
            during = [
                await call(client, "POST", "/api/v1/auth/login", json=wrong) for _ in range(5)
            ]
            limited = await call(client, "POST", "/api/v1/auth/login", json=credentials)
            login = await call(client, "POST", "/api/v1/auth/login", json=other)
            ready = await call(client, "GET", "/health/ready")
            redis_proxy.restore()
            recovered = await call(client, "GET", "/health/ready")

        # The limit of 3 held in the process while Redis was down, and logins went on.
        assert [answer.status for answer in during] == [401, 401, 401, 429, 429]
        assert all(answer.elapsed < BOUND for answer in [*during, limited, login, ready])
        assert limited.status == 429
        assert login.status == 200
        assert ready.status == 503
        assert recovered.status == 200

    async def test_a_hung_redis_costs_a_request_at_most_its_timeout(
        self, settings: Settings, redis_proxy: TcpProxy
    ) -> None:
        """Redis accepts and never answers: login and logout stay fast, limits hold, and
        another instance stops trusting its cache within a heartbeat and `REDIS_TIMEOUT`."""
        configured = settings.model_copy(
            update={
                "redis_url": f"redis://127.0.0.1:{redis_proxy.port}/0",
                "redis_timeout": REDIS_TIMEOUT,
                **ONLY_THE_EMAIL_LIMIT,
            }
        )
        credentials = {"email": unique_email(), "password": PASSWORD}
        wrong = {**credentials, "password": "not the password"}
        async with (
            running_app(configured) as first,
            running_app(configured) as second,
            http_client(first) as client,
            http_client(second) as other,
        ):
            await until_cache_on(first, second)
            assert (await client.post("/api/v1/auth/register", json=credentials)).is_success
            token = (await client.post("/api/v1/auth/login", json=credentials)).json()
            headers = {"Authorization": f"Bearer {token['access_token']}"}
            await other.get("/api/v1/users/me", headers=headers)  # its use is written down
            assert (await other.get("/api/v1/users/me", headers=headers)).status_code == 200

            redis_proxy.blackhole()
            logout = await call(client, "POST", "/api/v1/auth/logout", headers=headers)
            logged_out_at = time.monotonic()
            refused = other.get("/api/v1/users/me", headers=headers)
            while (await refused).status_code == 200:
                await asyncio.sleep(0.05)
                refused = other.get("/api/v1/users/me", headers=headers)
            refused_after = time.monotonic() - logged_out_at
            failed = [
                await call(client, "POST", "/api/v1/auth/login", json=wrong) for _ in range(4)
            ]
            login = await call(client, "POST", "/api/v1/auth/login", json=credentials)
            redis_proxy.restore()

        assert logout.status == 204
        assert logout.elapsed < 2 * REDIS_TIMEOUT + 0.5
        assert refused_after < 1.0 + REDIS_TIMEOUT + 0.5
        assert [answer.status for answer in failed] == [401, 401, 401, 429]
        assert all(answer.elapsed < 2 * REDIS_TIMEOUT + 0.5 for answer in failed)
        assert login.status == 429  # the address is limited, also with Redis hung
        assert login.elapsed < 2 * REDIS_TIMEOUT + 0.5


REDIS_TIMEOUT = 0.3


async def until_cache_on(*apps: FastAPI) -> None:
    async with asyncio.timeout(5):
        while not all(app.state.revocations.cache.enabled for app in apps):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
