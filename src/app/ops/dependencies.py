from typing import Annotated

from fastapi import Depends, Request

from app.core.db import SessionDep
from app.ops.repository import HealthRepository
from app.ops.service import HealthService


async def get_health_service(request: Request, session: SessionDep) -> HealthService:
    settings = request.app.state.settings
    return HealthService(
        HealthRepository(session),
        redis=request.app.state.redis,
        timeout=settings.db_connect_timeout,
        retry_after=settings.retry_after_seconds,
    )


HealthServiceDep = Annotated[HealthService, Depends(get_health_service)]
