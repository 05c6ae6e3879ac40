"""More concurrent slow requests than pool slots: each succeeds or gets a 503 with Retry-After
within the pool timeout; none hangs, none is a 500, and the pool is whole afterwards."""

import asyncio
import time

from fastapi import FastAPI
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from tests.conftest import http_client, running_app
from tests.reliability.proxy import TcpProxy
from tests.reliability.test_outage import call, needs_postgres, sign_in

POOL_SIZE = 2
POOL_TIMEOUT = 1.0
# Every database round trip takes at least this long (twice the proxy's delay).
ROUND_TRIP = 0.2
CLIENTS = 16


@needs_postgres
async def test_requests_beyond_the_pool_get_bounded_503s(
    engine: AsyncEngine, settings: Settings
) -> None:
    url = make_url(settings.database_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        configured = settings.model_copy(
            update={
                "database_url": url.set(host="127.0.0.1", port=proxy.port).render_as_string(
                    hide_password=False
                ),
                "db_pool_size": POOL_SIZE,
                "db_max_overflow": 0,
                "db_pool_timeout": POOL_TIMEOUT,
            }
        )
        async with running_app(configured) as app, http_client(app) as client:
            headers = await sign_in(client)
            proxy.delay = ROUND_TRIP / 2
            started = time.monotonic()
            answers = await asyncio.wait_for(
                asyncio.gather(
                    *(
                        call(client, "GET", "/api/v1/users/me", headers=headers)
                        for _ in range(CLIENTS)
                    )
                ),
                timeout=30,
            )
            elapsed = time.monotonic() - started
            proxy.delay = 0
            assert_pool_is_whole(app)

    statuses = sorted(answer.status for answer in answers)
    assert set(statuses) == {200, 503}, statuses
    for answer in answers:
        if answer.status == 503:
            assert answer.error_code == "SERVICE_UNAVAILABLE"
            assert answer.retry_after is not None
            # Waiting for a slot is bounded by the pool timeout (plus scheduling slack).
            assert answer.elapsed < POOL_TIMEOUT + 1
    assert elapsed < 30


def assert_pool_is_whole(app: FastAPI) -> None:
    pool = app.state.engine.pool
    assert pool.checkedout() == 0
    assert pool.checkedin() <= POOL_SIZE
