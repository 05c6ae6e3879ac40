"""Background tasks that live as long as the app."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any

# How long a cancelled task may take to end before it is cancelled again.
_RECANCEL_AFTER = 0.1


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """`work` as a task for the duration of the block, cancelled and awaited at its end; an
    error it ended with is raised here."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        # Cancelled until it ends: on Python 3.11, `asyncio.wait_for` in a library (the SMTP
        # client's connect) swallows a cancellation that arrives as its operation completes.
        while not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=_RECANCEL_AFTER)
        if not task.cancelled():
            task.result()
