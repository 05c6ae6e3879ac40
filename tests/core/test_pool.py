"""The connection pool serves waiters in arrival order and loses no connection when a wait ends."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import exc, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.config import Settings
from app.core.db import create_engine

POOL_TIMEOUT = 0.3
WAITERS = 5


@pytest.fixture
async def one_connection(settings: Settings) -> AsyncIterator[AsyncEngine]:
    configured = settings.model_copy(
        update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": POOL_TIMEOUT}
    )
    engine = create_engine(configured)
    yield engine
    await engine.dispose()


async def use(engine: AsyncEngine, name: str, served: list[str]) -> None:
    async with engine.connect() as connection:
        served.append(name)
        await connection.execute(text("SELECT 1"))


async def test_waiters_are_served_in_arrival_order_before_newcomers(
    one_connection: AsyncEngine,
) -> None:
    served: list[str] = []
    holder = await one_connection.connect()
    waiters = []
    for number in range(WAITERS):
        waiters.append(asyncio.create_task(use(one_connection, f"waiter {number}", served)))
        await asyncio.sleep(0.01)  # each one queued before the next arrives

    await holder.close()
    # Arrives after the connection came back but before the first waiter ran: it must queue.
    await use(one_connection, "newcomer", served)
    await asyncio.gather(*waiters)

    assert served == [f"waiter {number}" for number in range(WAITERS)] + ["newcomer"]


async def test_a_wait_that_ends_early_loses_no_connection(one_connection: AsyncEngine) -> None:
    holder = await one_connection.connect()
    with pytest.raises(exc.TimeoutError):
        await use(one_connection, "timed out", [])
    handed = asyncio.create_task(use(one_connection, "cancelled", []))
    await asyncio.sleep(0.01)

    await holder.close()  # hands the connection to the waiting task...
    handed.cancel()  # ...which is cancelled before it could run

    with pytest.raises(asyncio.CancelledError):
        await handed
    served: list[str] = []
    await asyncio.wait_for(use(one_connection, "next", served), timeout=POOL_TIMEOUT / 2)
    assert served == ["next"]
    assert one_connection.pool.checkedin() == 1  # type: ignore[attr-defined]
