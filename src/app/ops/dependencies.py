import hmac
from typing import Annotated

from fastapi import Depends, Request

from app.core.db import SessionDep
from app.core.errors import NotFoundError, UnauthorizedError
from app.ops.repository import HealthRepository
from app.ops.service import HealthService
from app.state import app_state


async def get_health_service(request: Request, session: SessionDep) -> HealthService:
    state = app_state(request)
    settings = state.settings
    return HealthService(
        HealthRepository(session),
        redis=state.redis,
        timeout=settings.db_connect_timeout,
        retry_after=settings.retry_after_seconds,
        jobs_stalled=state.jobs_worker.stalled if state.jobs_worker is not None else None,
    )


HealthServiceDep = Annotated[HealthService, Depends(get_health_service)]


async def require_metrics_access(request: Request) -> None:
    """`/metrics` is off in production unless `METRICS_TOKEN` is set; with a token, only a
    scraper presenting it as a bearer token reads it."""
    settings = app_state(request).settings
    if not settings.serves_metrics:
        raise NotFoundError()
    if settings.metrics_token is None:
        return
    expected = f"Bearer {settings.metrics_token.get_secret_value()}".encode()
    presented = request.headers.get("authorization", "").encode()
    if not hmac.compare_digest(presented, expected):
        raise UnauthorizedError()


MetricsAccess = Depends(require_metrics_access)
