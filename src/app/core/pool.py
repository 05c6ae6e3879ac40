"""A connection pool that serves waiting requests first come, first served.

SQLAlchemy's asyncio pool queue wakes the oldest waiter when a connection comes back, but any
request arriving before that waiter runs takes the connection first (`get_nowait`), and the
waiter queues again at the back. Under load a few requests wait for many seconds while
newcomers pass: at 256 concurrent clients p99 was 8 s for a 0.6 s mean wait. Here a returned
connection goes straight to the oldest waiter, and nobody takes one while others wait.
"""

import asyncio
from collections import deque
from typing import TypeVar

from sqlalchemy.pool import AsyncAdaptedQueuePool, ConnectionPoolEntry
from sqlalchemy.util import await_only
from sqlalchemy.util.queue import Empty, Full, QueueCommon

T = TypeVar("T")


class FairQueue(QueueCommon[T]):
    def __init__(self, maxsize: int = 0, use_lifo: bool = False):
        self.maxsize = maxsize
        self.use_lifo = use_lifo
        self._idle: deque[T] = deque()
        self._waiters: deque[asyncio.Future[T]] = deque()

    def empty(self) -> bool:
        return not self._idle

    def full(self) -> bool:
        return 0 < self.maxsize <= len(self._idle)

    def qsize(self) -> int:
        return len(self._idle)

    def put_nowait(self, item: T) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a waiter that timed out or was cancelled is skipped
                waiter.set_result(item)
                return
        if self.full():
            raise Full()
        self._idle.append(item)

    def put(self, item: T, block: bool = True, timeout: float | None = None) -> None:
        # The pool only returns connections it took, so a put never has to wait for room.
        self.put_nowait(item)

    def get_nowait(self) -> T:
        while self._waiters and self._waiters[0].done():
            self._waiters.popleft()
        if not self._idle or self._waiters:
            raise Empty()
        return self._idle.pop() if self.use_lifo else self._idle.popleft()

    def get(self, block: bool = True, timeout: float | None = None) -> T:
        try:
            return self.get_nowait()
        except Empty:
            if not block:
                raise
        waiter: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await_only(self._wait(waiter, seconds=timeout))
        except TimeoutError as error:
            raise Empty() from error

    async def _wait(self, waiter: asyncio.Future[T], *, seconds: float | None) -> T:
        try:
            async with asyncio.timeout(seconds):
                return await waiter
        except BaseException:
            # Handed a connection just as the wait ended: pass it on rather than lose it.
            if waiter.done() and not waiter.cancelled():
                self.put_nowait(waiter.result())
            waiter.cancel()
            raise


class FairAsyncQueuePool(AsyncAdaptedQueuePool):
    _queue_class = FairQueue[ConnectionPoolEntry]
