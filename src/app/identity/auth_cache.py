"""A per-process cache of token lookups that never outlives a revocation.

An entry (a token's session and user) lives `AUTH_CACHE_TTL` at most. A write that ends or
changes a user's access names the user in its unit of work; once that commits, the user's
entries are revoked in this process and, over Redis pub/sub, in every other. Revocation is by
time: an entry counts only when the lookup that produced it started after the user's latest
revocation, so a lookup racing a write can never put back what the write revoked. With Redis
the cache is on only while the subscription is live: when it is lost, or a publish fails, the
cache is flushed and stays off until it is back, and nothing read meanwhile is kept. With one
process and no Redis there is no one else to tell: revocations are local.
"""

import asyncio
import contextlib
import math
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import structlog
from cachetools import TTLCache
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import after_commit, noted
from app.core.metrics import MULTIPROCESS_DIR, Metrics
from app.core.redis import create_redis
from app.core.tasks import running

logger = structlog.get_logger(__name__)

V = TypeVar("V")
# The after-commit effect of a unit of work that changed users' access: their cached lookups go.
REVOKE = "auth_cache.revoke"
# Revoking it revokes every entry: a change to a role reaches all of its holders.
EVERYONE = uuid.UUID(int=0)


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    owner: uuid.UUID
    value: V
    as_of: float


class AuthCache(Generic[V]):
    """Entries keyed by token hash, owned by a user; off until `enable()`."""

    def __init__(self, *, ttl: float, size: int, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self.clock = clock
        self.enabled = False
        self._entries: TTLCache[str, _Entry[V]] = TTLCache(maxsize=size, ttl=ttl, timer=clock)
        self._revoked: dict[uuid.UUID, float] = {}
        self._flushed_at = clock()

    def get(self, key: str) -> V | None:
        entry = self._entries.get(key) if self.enabled else None
        if entry is None:
            return None
        if not self._current(entry):
            self._entries.pop(key, None)
            return None
        return entry.value

    def put(self, key: str, owner: uuid.UUID, value: V, *, as_of: float) -> None:
        """Keep `value`, read by a lookup that started at `as_of` (from `clock`)."""
        entry = _Entry(owner, value, as_of)
        if self.enabled and self._current(entry):
            self._entries[key] = entry

    def revoke(self, owners: Iterable[uuid.UUID]) -> None:
        now = self.clock()
        for owner in owners:
            if owner == EVERYONE:
                self.flush()
            self._revoked[owner] = now
        if len(self._revoked) > len(self._entries) + 1024:
            # A revocation older than the TTL can only concern entries that have expired.
            self._revoked = {o: t for o, t in self._revoked.items() if now - t < self.ttl}

    def enable(self) -> None:
        # Revocations published while off were missed: nothing read before now may be kept.
        self.flush()
        self.enabled = True

    def disable(self) -> None:
        self.enabled = False
        self.flush()

    def flush(self) -> None:
        self._entries.clear()
        self._flushed_at = self.clock()

    def _current(self, entry: _Entry[V]) -> bool:
        return (
            entry.as_of > self._flushed_at
            and entry.as_of > self._revoked.get(entry.owner, -math.inf)
            and self.clock() - entry.as_of < self.ttl
        )


class LocalRevocations:
    """Revokes users' entries in this process, the only one serving (no Redis, one worker)."""

    def __init__(self, cache: AuthCache[Any]):
        self.cache = cache
        cache.enable()

    async def revoke(self, owners: set[uuid.UUID]) -> None:
        self.cache.revoke(owners)


class RevocationBus:
    """Revokes users' entries here and, through Redis pub/sub, in every process; keeps the
    cache on only while subscribed, checked by a ping every `heartbeat` seconds that must be
    answered within `timeout` (`REDIS_TIMEOUT`)."""

    def __init__(
        self,
        cache: AuthCache[Any],
        redis: Redis,
        metrics: Metrics,
        *,
        heartbeat: float = 1.0,
        timeout: float = 0.5,
        retry: float = 1.0,
    ):
        self.cache = cache
        self.redis = redis
        self.metrics = metrics
        self.heartbeat = heartbeat
        self.timeout = timeout
        self.retry = retry
        self.channel = channel(redis)
        self._lost = asyncio.Event()

    async def revoke(self, owners: set[uuid.UUID]) -> None:
        self.cache.revoke(owners)
        try:
            await self.redis.publish(self.channel, _message(owners))
        except (RedisError, OSError, TimeoutError) as error:
            # Others keep what they cached for at most the TTL; this process, which cannot
            # tell whether it still hears them, caches nothing until it subscribes again.
            self.metrics.auth_cache_publish_failures.inc()
            logger.warning("auth_cache_publish_failed", error=type(error).__name__)
            self.cache.disable()
            self._lost.set()

    async def run(self) -> None:
        """Subscribe, apply what arrives, and on any failure turn the cache off and retry."""
        while True:
            try:
                await self._listen()
            except (RedisError, OSError, TimeoutError) as error:
                logger.warning("auth_cache_subscription_lost", error=type(error).__name__)
            finally:
                self.cache.disable()
            await asyncio.sleep(self.retry)

    async def _listen(self) -> None:
        self._lost.clear()
        async with self.redis.pubsub() as pubsub:
            await pubsub.subscribe(self.channel)
            last_seen = pinged = time.monotonic()
            while not self._lost.is_set():
                message = await pubsub.get_message(timeout=min(self.heartbeat, self.timeout))
                now = time.monotonic()
                if message is not None:
                    last_seen = now
                    self._apply(message)
                if now - last_seen > self.heartbeat + self.timeout:
                    raise TimeoutError("no answer from Redis")
                if now - pinged >= self.heartbeat:
                    await pubsub.ping()
                    pinged = now

    def _apply(self, message: dict[str, object]) -> None:
        if message["type"] == "subscribe":
            self.cache.enable()
            logger.info("auth_cache_on")
        elif message["type"] == "message":
            data = message["data"]
            text = data.decode() if isinstance(data, bytes) else str(data)
            self.cache.revoke(uuid.UUID(owner) for owner in text.split())


def channel(redis: Redis) -> str:
    # Pub/sub ignores database numbers: apps sharing a server by database stay apart.
    return f"app:auth-cache:revoke:{redis.connection_pool.connection_kwargs.get('db', 0)}"


def _message(owners: Iterable[uuid.UUID]) -> str:
    return " ".join(str(owner) for owner in owners)


async def revoke_elsewhere(settings: Settings, session: AsyncSession) -> None:
    """For code outside a request (the CLI), once `session` committed: the running processes
    revoke what it changed."""
    revoked = noted(session, REVOKE)
    redis = create_redis(settings)
    if redis is None or not revoked:
        return
    try:
        await redis.publish(channel(redis), _message(revoked))
    finally:
        await redis.aclose()


Revocations = LocalRevocations | RevocationBus


@contextlib.asynccontextmanager
async def running_auth_cache(
    settings: Settings, redis: Redis | None, metrics: Metrics
) -> AsyncIterator[Revocations | None]:
    """The process's cache (and its subscription) for as long as the app runs. None with
    `AUTH_CACHE_TTL=0`, or without Redis when several worker processes serve: the others'
    revocations could not reach this one."""
    ttl = settings.auth_cache_ttl.total_seconds()
    if ttl <= 0 or (redis is None and os.environ.get(MULTIPROCESS_DIR)):
        yield None
        return
    cache: AuthCache[Any] = AuthCache(ttl=ttl, size=settings.auth_cache_size)
    if redis is None:
        yield LocalRevocations(cache)
        return
    bus = RevocationBus(cache, redis, metrics, timeout=settings.redis_timeout)
    async with running(bus.run(), "auth-cache-subscription"):
        yield bus


def revoke_after_commit(session: AsyncSession, *user_ids: uuid.UUID) -> None:
    """Name users whose access this unit of work changes; their cached lookups are revoked
    once it commits (the `REVOKE` hook, or `revoke_elsewhere` for code outside a request)."""
    after_commit(session, REVOKE, *user_ids)
