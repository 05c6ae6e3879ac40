from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.dependencies import AccountServiceDep, build_account_service
from app.auth.service import AuthLimits, AuthService
from app.core.config import Settings
from app.factors.dependencies import FactorServiceDep, build_factor_service
from app.identity.dependencies import AuditLogDep, build_audit_log
from app.passkeys.dependencies import PasskeyServiceDep, build_passkey_service
from app.sessions.dependencies import UserSessionServiceDep, build_user_session_service
from app.state import AppState, app_state
from app.users.dependencies import UserServiceDep, build_user_service


def build_auth_service(session: AsyncSession, state: AppState) -> AuthService:
    """For the admin console's sign-in, which has no FastAPI dependencies."""
    settings, clock = state.settings, state.clock
    return AuthService(
        users=build_user_service(session, settings),
        user_sessions=build_user_session_service(session, settings, clock),
        hasher=state.password_hasher,
        limiter=state.rate_limiter,
        limits=_limits(settings),
        accounts=build_account_service(
            session,
            settings,
            clock,
            registry=state.job_registry,
            hasher=state.password_hasher,
            limiter=state.rate_limiter,
            metrics=state.metrics,
        ),
        passwords=state.password_check,
        audit=build_audit_log(session, clock=clock, sessionmaker=state.sessionmaker),
        factors=build_factor_service(
            session,
            settings,
            sessionmaker=state.sessionmaker,
            limiter=state.rate_limiter,
            clock=clock,
        ),
        passkeys=build_passkey_service(
            session,
            settings,
            sessionmaker=state.sessionmaker,
            limiter=state.rate_limiter,
            clock=clock,
        ),
        require_verified_email=settings.require_verified_email,
    )


async def get_auth_service(
    request: Request,
    users: UserServiceDep,
    user_sessions: UserSessionServiceDep,
    accounts: AccountServiceDep,
    audit: AuditLogDep,
    factors: FactorServiceDep,
    passkeys: PasskeyServiceDep,
) -> AuthService:
    state = app_state(request)
    return AuthService(
        users=users,
        user_sessions=user_sessions,
        hasher=state.password_hasher,
        limiter=state.rate_limiter,
        limits=_limits(state.settings),
        accounts=accounts,
        passwords=state.password_check,
        audit=audit,
        factors=factors,
        passkeys=passkeys,
        require_verified_email=state.settings.require_verified_email,
    )


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]


def _limits(settings: Settings) -> AuthLimits:
    return AuthLimits(
        login_email=settings.rate_limit_login_email,
        login_ip=settings.rate_limit_login_ip,
        register_ip=settings.rate_limit_register_ip,
    )
