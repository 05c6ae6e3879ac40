import uuid
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import SessionDep
from app.core.models import utcnow
from app.core.ratelimit import RateLimiter
from app.core.request import Clock
from app.identity.dependencies import build_audit_log
from app.passkeys.repository import PasskeyChallengeRepository, PasskeyRepository
from app.passkeys.service import PasskeyService, RelyingParty
from app.state import app_state


def build_passkey_service(
    session: AsyncSession,
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    limiter: RateLimiter,
    clock: Clock = utcnow,
) -> PasskeyService:
    """Also for the CLI."""
    rp = RelyingParty(
        id=settings.relying_party_id,
        name=settings.app_name,
        origins=settings.relying_party_origins,
        challenge_ttl=settings.webauthn_challenge_ttl,
        login_ip=settings.rate_limit_login_ip,
    )
    return PasskeyService(
        passkeys=PasskeyRepository(session),
        challenges=PasskeyChallengeRepository(session),
        limiter=limiter,
        audit=build_audit_log(session, clock=clock, sessionmaker=sessionmaker),
        rp=rp,
        clock=clock,
    )


async def get_passkey_service(request: Request, session: SessionDep) -> PasskeyService:
    state = app_state(request)
    return build_passkey_service(
        session,
        state.settings,
        sessionmaker=state.sessionmaker,
        limiter=state.rate_limiter,
        clock=state.clock,
    )


PasskeyServiceDep = Annotated[PasskeyService, Depends(get_passkey_service)]


async def remove_passkeys(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Every passkey of the user gone (support, `app users reset-2fa`): how many."""
    return await PasskeyRepository(session).remove_all(user_id)
