from typing import Annotated

from fastapi import Depends, Request

from app.accounts.dependencies import AccountServiceDep
from app.auth.service import AuthLimits, AuthService
from app.identity.dependencies import AuditLogDep
from app.sessions.dependencies import UserSessionServiceDep
from app.state import app_state
from app.users.dependencies import UserServiceDep


async def get_auth_service(
    request: Request,
    users: UserServiceDep,
    user_sessions: UserSessionServiceDep,
    accounts: AccountServiceDep,
    audit: AuditLogDep,
) -> AuthService:
    state = app_state(request)
    limits = AuthLimits(
        login_email=state.settings.rate_limit_login_email,
        login_ip=state.settings.rate_limit_login_ip,
        register_ip=state.settings.rate_limit_register_ip,
    )
    return AuthService(
        users=users,
        user_sessions=user_sessions,
        hasher=state.password_hasher,
        limiter=state.rate_limiter,
        limits=limits,
        accounts=accounts,
        passwords=state.password_check,
        audit=audit,
        require_verified_email=state.settings.require_verified_email,
    )


AuthServiceDep = Annotated[AuthService, Depends(get_auth_service)]
