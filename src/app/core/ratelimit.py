"""Rate limits with the `limits` library: in memory, or in Redis shared by every instance."""

import math
import time
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any, TypeVar

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from app.core.config import Settings
from app.core.errors import RateLimitedError

logger = structlog.get_logger(__name__)
T = TypeVar("T")


@lru_cache(maxsize=64)
def parse_rule(rule: str) -> RateLimitItem | None:
    """`5/15minutes` in the `limits` notation; an empty rule turns the limit off."""
    return parse(rule) if rule.strip() else None


class RateLimiter:
    """Moving-window limits keyed by strings such as an email or a client IP.

    Shared limits (Redis) that fail, or answer slower than the client's timeout, are counted
    in this process's memory instead for `fallback_seconds`, then Redis is tried again: every
    limit goes on holding (per process, so up to N times looser with N processes) and no
    request waits on a dead Redis more than once per interval. Failing open would hand
    attackers unlimited password guesses whenever Redis is down; failing closed would take
    logins down with it.
    """

    def __init__(self, storage: Storage, *, fallback_seconds: float = 5.0):
        self._shared = MovingWindowRateLimiter(storage)
        self._local = (
            self._shared
            if isinstance(storage, MemoryStorage)
            else MovingWindowRateLimiter(MemoryStorage())
        )
        self.fallback_seconds = fallback_seconds
        self._local_until = -math.inf

    async def ensure_allowed(self, rule: str, key: str) -> None:
        """Raises `RateLimitedError` when the next hit would exceed `rule`, without counting."""
        item = parse_rule(rule)
        if item is not None and not await self._run(lambda limiter: limiter.test(item, key)):
            raise await self._limited(item, key)

    async def hit(self, rule: str, key: str) -> None:
        """Counts one hit; raises `RateLimitedError` when it is over the limit."""
        item = parse_rule(rule)
        if item is not None and not await self._run(lambda limiter: limiter.hit(item, key)):
            raise await self._limited(item, key)

    async def allows(self, rule: str, key: str) -> bool:
        """Counts one hit; whether it was within `rule` (for limits that drop, not refuse)."""
        item = parse_rule(rule)
        return item is None or await self._run(lambda limiter: limiter.hit(item, key))

    async def _limited(self, item: RateLimitItem, key: str) -> RateLimitedError:
        reset_at, _remaining = await self._run(lambda limiter: limiter.get_window_stats(item, key))
        return RateLimitedError(retry_after=max(1, math.ceil(reset_at - time.time())))

    async def _run(self, call: Callable[[MovingWindowRateLimiter], Awaitable[T]]) -> T:
        if time.monotonic() < self._local_until:
            return await call(self._local)
        try:
            return await call(self._shared)
        except Exception as error:  # the shared storage failed or timed out
            if self._shared is self._local:
                raise
            self._local_until = time.monotonic() + self.fallback_seconds
            logger.warning(
                "rate_limit_storage_unavailable", error=type(error).__name__, fallback="process"
            )
            return await call(self._local)


def create_rate_limiter(settings: Settings, redis: Redis | None) -> RateLimiter:
    if redis is None or not settings.redis_url:
        return RateLimiter(MemoryStorage())
    # Shares the app's Redis connection pool (and its `REDIS_TIMEOUT`) rather than opening a
    # second one.
    options: dict[str, Any] = {"connection_pool": redis.connection_pool}
    storage = RedisStorage(
        f"async+{settings.redis_url}",
        implementation="redispy",
        key_prefix=f"{settings.app_name}:ratelimit",
        **options,
    )
    return RateLimiter(storage)
