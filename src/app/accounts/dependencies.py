from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.repository import AccountTokenRepository
from app.accounts.service import AccountPolicy, AccountService
from app.api_keys.dependencies import build_api_key_service
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.metrics import Metrics
from app.core.models import utcnow
from app.core.ratelimit import RateLimiter
from app.core.request import Clock
from app.core.security import CurrentPasswordCheck, PasswordHasher
from app.identity.dependencies import build_audit_log
from app.jobs.definitions import JobRegistry
from app.mail.dependencies import build_outbox_service
from app.mail.jobs import Composer
from app.mail.sender import MailTemplates, Message
from app.sessions.dependencies import build_user_session_service
from app.state import app_state
from app.users.dependencies import build_user_service


def build_account_service(
    session: AsyncSession,
    settings: Settings,
    clock: Clock,
    *,
    registry: JobRegistry,
    hasher: PasswordHasher,
    limiter: RateLimiter,
    metrics: Metrics,
) -> AccountService:
    policy = AccountPolicy(
        password_reset_ttl=settings.password_reset_ttl,
        email_verification_ttl=settings.email_verification_ttl,
        email_change_ttl=settings.email_change_ttl,
        reset_per_email=settings.rate_limit_password_reset_email,
        reset_per_ip=settings.rate_limit_password_reset_ip,
        mail_per_user=settings.rate_limit_account_mail,
    )
    return AccountService(
        AccountTokenRepository(session),
        users=build_user_service(session, settings),
        user_sessions=build_user_session_service(session, settings, clock),
        api_keys=build_api_key_service(session, settings, clock),
        outbox=build_outbox_service(
            session, settings, registry, clock, limiter=limiter, metrics=metrics
        ),
        templates=MailTemplates("app.accounts", settings),
        hasher=hasher,
        passwords=CurrentPasswordCheck(hasher, limiter, rule=settings.rate_limit_login_email),
        limiter=limiter,
        policy=policy,
        clock=clock,
        audit=build_audit_log(session, clock=clock),
    )


async def get_account_service(request: Request, session: SessionDep) -> AccountService:
    state = app_state(request)
    return build_account_service(
        session,
        state.settings,
        state.clock,
        registry=state.job_registry,
        hasher=state.password_hasher,
        limiter=state.rate_limiter,
        metrics=state.metrics,
    )


AccountServiceDep = Annotated[AccountService, Depends(get_account_service)]


def password_reset_composer(
    settings: Settings,
    *,
    registry: JobRegistry,
    hasher: PasswordHasher,
    limiter: RateLimiter,
    metrics: Metrics,
) -> Composer:
    """Writes the reset mails the outbox holds requests for, in the delivery job's unit of
    work."""

    async def compose(session: AsyncSession, email: str) -> Message | None:
        accounts = build_account_service(
            session,
            settings,
            utcnow,
            registry=registry,
            hasher=hasher,
            limiter=limiter,
            metrics=metrics,
        )
        return await accounts.compose_password_reset(email)

    return compose
