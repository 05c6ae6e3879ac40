from typing import Annotated

from fastapi import Depends, Request

from app.core.db import SessionDep
from app.factors.dependencies import FactorServiceDep
from app.identity.dependencies import build_audit_log
from app.oauth.repository import IdentityRepository, OAuthCodeRepository, OAuthStateRepository
from app.oauth.service import OAuthPolicy, OAuthService
from app.sessions.dependencies import UserSessionServiceDep
from app.state import app_state
from app.users.dependencies import UserServiceDep

# Holds the secret the callback checks: the browser that finishes a sign-in started it.
BROWSER_COOKIE = "oauth_browser"
# `__Host-`: no sibling subdomain can set it; it needs HTTPS.
SECURE_BROWSER_COOKIE = "__Host-oauth_browser"


def browser_cookie_name(request: Request) -> str:
    return SECURE_BROWSER_COOKIE if request.url.scheme == "https" else BROWSER_COOKIE


async def get_oauth_service(
    request: Request,
    session: SessionDep,
    users: UserServiceDep,
    user_sessions: UserSessionServiceDep,
    factors: FactorServiceDep,
) -> OAuthService:
    state = app_state(request)
    settings = state.settings
    policy = OAuthPolicy(
        public_url=settings.public_url.rstrip("/"),
        state_ttl=settings.oauth_state_ttl,
        code_ttl=settings.login_code_ttl,
        start_per_ip=settings.rate_limit_oauth_ip,
        login_per_ip=settings.rate_limit_login_ip,
        retry_after=settings.retry_after_seconds,
    )
    return OAuthService(
        states=OAuthStateRepository(session),
        codes=OAuthCodeRepository(session),
        identities=IdentityRepository(session),
        providers=state.oauth_providers,
        users=users,
        user_sessions=user_sessions,
        limiter=state.rate_limiter,
        audit=build_audit_log(session, clock=state.clock),
        factors=factors,
        policy=policy,
        clock=state.clock,
    )


OAuthServiceDep = Annotated[OAuthService, Depends(get_oauth_service)]
