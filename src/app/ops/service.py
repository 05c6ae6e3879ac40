import asyncio
from collections.abc import Awaitable, Callable

import structlog
from redis.asyncio import Redis

from app.core.errors import ServiceUnavailableError
from app.ops.repository import HealthRepository

logger = structlog.get_logger(__name__)


class HealthService:
    """Readiness: every backing service answers within `timeout` seconds, and the job worker
    (when this process runs one: it delivers the mail) is alive."""

    def __init__(
        self,
        repository: HealthRepository,
        *,
        redis: Redis | None,
        timeout: float,
        retry_after: int,
        jobs_stalled: Callable[[], bool] | None = None,
    ):
        self.repository = repository
        self.redis = redis
        self.timeout = timeout
        self.retry_after = retry_after
        self.jobs_stalled = jobs_stalled

    async def check_ready(self) -> dict[str, str]:
        checks = {"database": await self._check("database", self.repository.ping())}
        if self.redis is not None:
            checks["redis"] = await self._check("redis", self._ping_redis(self.redis))
        if self.jobs_stalled is not None:
            checks["jobs"] = "stalled" if self.jobs_stalled() else "ok"
        failed = sorted(name for name, state in checks.items() if state != "ok")
        if failed:
            raise ServiceUnavailableError(
                f"Not ready: {', '.join(failed)} unavailable", retry_after=self.retry_after
            )
        return checks

    async def _ping_redis(self, redis: Redis) -> None:
        await redis.ping()

    async def _check(self, name: str, probe: Awaitable[object]) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                await probe
        except Exception as exc:  # any failure of a dependency means "not ready"
            logger.warning("readiness_check_failed", check=name, error=type(exc).__name__)
            return "unavailable"
        return "ok"
