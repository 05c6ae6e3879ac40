"""Background tasks that live as long as the app."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any


@contextlib.asynccontextmanager
async def running(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[None]:
    """`work` as a task for the duration of the block, cancelled and awaited at its end."""
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            # The task's own cancellation ends here; the caller's, if any, goes on.
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise
