from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import SessionDep
from app.core.models import utcnow
from app.core.request import Clock
from app.identity.auth_cache import AuthCache
from app.identity.dependencies import build_audit_log
from app.identity.models import OrgApiKey
from app.org_api_keys.repository import OrgApiKeyRepository
from app.org_api_keys.service import OrgApiKeyService
from app.state import app_state


def build_org_api_key_service(
    session: AsyncSession,
    settings: Settings,
    clock: Clock = utcnow,
    cache: AuthCache[Any] | None = None,
) -> OrgApiKeyService:
    return OrgApiKeyService(
        OrgApiKeyRepository(session),
        touch_interval=settings.session_touch_interval,
        clock=clock,
        audit=build_audit_log(session, clock=clock),
        cache=cache,
    )


async def authenticate_org_api_key(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    cache: AuthCache[Any] | None,
    key: str,
) -> OrgApiKey:
    """Who calls with `key` (`BearerKind` of organisation keys)."""
    return await build_org_api_key_service(session, settings, clock, cache).authenticate(key)


async def get_org_api_key_service(request: Request, session: SessionDep) -> OrgApiKeyService:
    state = app_state(request)
    return build_org_api_key_service(session, state.settings, state.clock)


OrgApiKeyServiceDep = Annotated[OrgApiKeyService, Depends(get_org_api_key_service)]
