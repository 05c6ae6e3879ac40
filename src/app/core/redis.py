"""The shared Redis client, when `REDIS_URL` is set."""

from redis.asyncio import Redis

from app.core.config import Settings


def create_redis(settings: Settings) -> "Redis | None":
    """Every call (connect, command, reply) gives up after `REDIS_TIMEOUT`: a hung Redis costs
    a request that much, once, and each user of the client then has a fallback."""
    if not settings.redis_url:
        return None
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.redis_timeout,
        socket_timeout=settings.redis_timeout,
        health_check_interval=30,
    )
