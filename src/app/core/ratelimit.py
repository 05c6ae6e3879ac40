"""Rate limits with the `limits` library: in memory, or in Redis shared by every instance."""

import math
import time
from functools import lru_cache
from typing import Any

import structlog
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from redis.asyncio import Redis

from app.core.config import Settings
from app.core.errors import RateLimitedError

logger = structlog.get_logger(__name__)


@lru_cache(maxsize=64)
def parse_rule(rule: str) -> RateLimitItem | None:
    """`5/15minutes` in the `limits` notation; an empty rule turns the limit off."""
    return parse(rule) if rule.strip() else None


class RateLimiter:
    """Moving-window limits keyed by strings such as an email or a client IP.

    If the storage (Redis) fails, requests are let through and a warning is logged: losing the
    limiter must not take the login endpoint down with it.
    """

    def __init__(self, storage: Storage):
        self._limiter = MovingWindowRateLimiter(storage)

    async def ensure_allowed(self, rule: str, key: str) -> None:
        """Raises `RateLimitedError` when the next hit would exceed `rule`, without counting."""
        item = parse_rule(rule)
        if item is None:
            return
        try:
            allowed = await self._limiter.test(item, key)
            if allowed:
                return
            reset_at, _remaining = await self._limiter.get_window_stats(item, key)
        except Exception as exc:  # the storage is down: fail open
            logger.warning("rate_limit_storage_unavailable", error=type(exc).__name__)
            return
        raise RateLimitedError(retry_after=math.ceil(reset_at - time.time()))

    async def hit(self, rule: str, key: str) -> None:
        """Counts one hit; raises `RateLimitedError` when it is over the limit."""
        item = parse_rule(rule)
        if item is None:
            return
        try:
            if await self._limiter.hit(item, key):
                return
            reset_at, _remaining = await self._limiter.get_window_stats(item, key)
        except Exception as exc:
            logger.warning("rate_limit_storage_unavailable", error=type(exc).__name__)
            return
        raise RateLimitedError(retry_after=math.ceil(reset_at - time.time()))


def create_rate_limiter(settings: Settings, redis: Redis | None) -> RateLimiter:
    if redis is None or not settings.redis_url:
        return RateLimiter(MemoryStorage())
    # Shares the app's Redis connection pool rather than opening a second one.
    options: dict[str, Any] = {"connection_pool": redis.connection_pool}
    storage = RedisStorage(
        f"async+{settings.redis_url}",
        implementation="redispy",
        key_prefix=f"{settings.app_name}:ratelimit",
        **options,
    )
    return RateLimiter(storage)
