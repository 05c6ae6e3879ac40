"""A loopback TCP proxy that tests cut, black-hole, slow down and restore.

It runs its own event loop in a thread, so it serves in-process apps and real server processes
alike, and keeps working while a test blocks.
"""

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
CHUNK = 65536


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = 0
        # Seconds added before each chunk is forwarded, in both directions.
        self.delay = 0.0
        self._blackhole = False
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> "TcpProxy":
        self._thread.start()
        self._run(self._listen())
        return self

    def __exit__(self, *_exc: object) -> None:
        self._run(self._close(refuse=True))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    @property
    def connections(self) -> int:
        """Client connections currently open (each has an upstream twin)."""
        return self._run(self._count())

    def cut(self) -> None:
        """Reset every connection and refuse new ones, like a server that went down."""
        self._run(self._close(refuse=True))

    def blackhole(self) -> None:
        """Accept and keep connections but never answer, like a network partition."""
        self._blackhole = True

    def restore(self) -> None:
        """Forward again; connections opened during a black hole are dropped."""
        self._blackhole = False
        self._run(self._close(refuse=False))
        if self._server is None:
            self._run(self._listen())

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _count(self) -> int:
        return sum(1 for writer in self._writers if not writer.is_closing()) // 2

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self, *, refuse: bool) -> None:
        if refuse and self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self._blackhole:
            await self._drain_forever(reader)
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(upstream_writer)
        await asyncio.gather(
            self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer)
        )

    async def _drain_forever(self, reader: asyncio.StreamReader) -> None:
        try:
            while await reader.read(CHUNK):
                pass
        except OSError:
            return

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(CHUNK):
                if self.delay:
                    await asyncio.sleep(self.delay)
                if self._blackhole:
                    continue
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.transport.abort()
            self._writers.discard(writer)
