import uuid
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.crypto import SecretBox
from app.core.db import SessionDep
from app.core.models import utcnow
from app.core.ratelimit import RateLimiter
from app.core.request import Clock
from app.factors.repository import ChallengeRepository, RecoveryCodeRepository, TotpRepository
from app.factors.service import Apart, FactorPolicy, FactorService
from app.identity.dependencies import build_audit_log
from app.passkeys.repository import PasskeyRepository
from app.state import app_state


def build_factor_service(
    session: AsyncSession,
    settings: Settings,
    *,
    sessionmaker: async_sessionmaker[AsyncSession],
    limiter: RateLimiter,
    clock: Clock = utcnow,
) -> FactorService:
    """Also for the CLI and the admin console."""
    policy = FactorPolicy(
        issuer=settings.totp_issuer or settings.app_name,
        mfa_token_ttl=settings.mfa_token_ttl,
        max_failures=settings.mfa_max_failures,
        login_email=settings.rate_limit_login_email,
        login_ip=settings.rate_limit_login_ip,
    )
    return FactorService(
        totp=TotpRepository(session),
        recovery_codes=RecoveryCodeRepository(session),
        challenges=ChallengeRepository(session),
        box=SecretBox(settings.encryption_key_list),
        limiter=limiter,
        audit=build_audit_log(session, clock=clock, sessionmaker=sessionmaker),
        apart=_apart(sessionmaker, clock),
        policy=policy,
        clock=clock,
    )


def _apart(sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> Apart:
    async def issue_challenge(
        token_hash: str, user_id: uuid.UUID, expires_at: datetime, new_password_hash: str | None
    ) -> None:
        async with sessionmaker.begin() as session:
            challenges = ChallengeRepository(session)
            await challenges.delete_expired(now=clock())
            await challenges.add(
                token_hash=token_hash,
                user_id=user_id,
                expires_at=expires_at,
                new_password_hash=new_password_hash,
            )

    async def count_failure(challenge_id: uuid.UUID, most: int) -> None:
        async with sessionmaker.begin() as session:
            await ChallengeRepository(session).count_failure(challenge_id, most=most)

    return Apart(issue_challenge=issue_challenge, count_failure=count_failure)


async def get_factor_service(request: Request, session: SessionDep) -> FactorService:
    state = app_state(request)
    return build_factor_service(
        session,
        state.settings,
        sessionmaker=state.sessionmaker,
        limiter=state.rate_limiter,
        clock=state.clock,
    )


FactorServiceDep = Annotated[FactorService, Depends(get_factor_service)]


async def has_second_factor(session: AsyncSession, user_id: uuid.UUID) -> bool:
    """Whether the user has an authenticator app on, or a passkey."""
    return await TotpRepository(session).is_on(user_id) or await PasskeyRepository(session).has_any(
        user_id
    )
