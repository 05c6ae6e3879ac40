from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from app.api_keys.repository import ApiKeyRepository
from app.api_keys.service import ApiKeyService
from app.core.auth_cache import AuthCache
from app.core.config import Settings
from app.core.db import service_dependency
from app.core.models import utcnow
from app.core.request import Clock


def build_api_key_service(
    session: AsyncSession,
    settings: Settings,
    clock: Clock = utcnow,
    cache: AuthCache[Any] | None = None,
) -> ApiKeyService:
    """Also for code outside a request (the CLI). `last_used_at` is written as seldom as a
    session's."""
    return ApiKeyService(
        ApiKeyRepository(session),
        touch_interval=settings.session_touch_interval,
        clock=clock,
        cache=cache,
    )


get_api_key_service = service_dependency(build_api_key_service)
ApiKeyServiceDep = Annotated[ApiKeyService, Depends(get_api_key_service)]
