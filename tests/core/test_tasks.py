"""The app's background tasks end with the app, even a task that swallows a cancellation."""

import asyncio
import contextlib
import time

import pytest

from app.core.tasks import running


async def test_a_task_that_swallows_its_cancellation_is_cancelled_again() -> None:
    async def stubborn() -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(60)
        await asyncio.sleep(60)

    started = time.monotonic()
    async with asyncio.timeout(5), running(stubborn(), "stubborn"):
        await asyncio.sleep(0)

    assert time.monotonic() - started < 1


async def test_the_error_a_task_ended_with_is_raised_at_the_end_of_the_block() -> None:
    async def failing() -> None:
        raise LookupError("gone")

    with pytest.raises(LookupError, match="gone"):
        async with running(failing(), "failing"):
            await asyncio.sleep(0.01)
