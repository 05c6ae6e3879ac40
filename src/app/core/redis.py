"""The shared Redis client, when `REDIS_URL` is set."""

from redis.asyncio import Redis

from app.core.config import Settings


def create_redis(settings: Settings) -> "Redis | None":
    if not settings.redis_url:
        return None
    return Redis.from_url(
        settings.redis_url,
        socket_connect_timeout=settings.db_connect_timeout,
        socket_timeout=settings.db_connect_timeout,
        health_check_interval=30,
    )
