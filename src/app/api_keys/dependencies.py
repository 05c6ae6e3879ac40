from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.api_keys.repository import ApiKeyRepository
from app.api_keys.service import ApiKeyService
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.models import utcnow
from app.core.request import Clock
from app.core.security import CurrentPasswordCheck
from app.identity.auth_cache import AuthCache
from app.identity.dependencies import build_audit_log
from app.identity.models import ApiKey
from app.state import app_state


def build_api_key_service(
    session: AsyncSession,
    settings: Settings,
    clock: Clock = utcnow,
    cache: AuthCache[Any] | None = None,
    passwords: CurrentPasswordCheck | None = None,
) -> ApiKeyService:
    """Also for code outside a request (the CLI). `last_used_at` is written as seldom as a
    session's."""
    return ApiKeyService(
        ApiKeyRepository(session),
        touch_interval=settings.session_touch_interval,
        clock=clock,
        audit=build_audit_log(session, clock=clock),
        cache=cache,
        passwords=passwords,
    )


async def authenticate_api_key(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    cache: AuthCache[Any] | None,
    key: str,
) -> ApiKey:
    """Who calls with `key` (`BearerKind` of API keys)."""
    return await build_api_key_service(session, settings, clock, cache).authenticate(key)


async def get_api_key_service(request: Request, session: SessionDep) -> ApiKeyService:
    state = app_state(request)
    return build_api_key_service(
        session, state.settings, state.clock, passwords=state.password_check
    )


ApiKeyServiceDep = Annotated[ApiKeyService, Depends(get_api_key_service)]
