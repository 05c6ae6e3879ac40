from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import OAuth2PasswordBearer, SecurityScopes
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from app.core.config import Settings
from app.core.db import SessionDep
from app.core.errors import (
    BadRequestError,
    EmailNotVerifiedError,
    ForbiddenError,
    PermissionDeniedError,
    SecondFactorRequiredError,
)
from app.core.models import utcnow
from app.core.permissions import allows
from app.core.request import Clock
from app.factors.dependencies import has_second_factor
from app.identity.auth_cache import AuthCache
from app.identity.dependencies import build_audit_log
from app.identity.models import ApiKey, OrgApiKey, User, UserSession
from app.sessions.repository import UserSessionRepository
from app.sessions.service import UserSessionPolicy, UserSessionService
from app.state import app_state


class SingleBearer(OAuth2PasswordBearer):
    """The bearer token of the one `Authorization` header (never the URL). A request with two
    is refused (RFC 6750 §3.1 `invalid_request`): which one a proxy or framework reads differs,
    so answering as either caller would be a guess."""

    async def __call__(self, request: HTTPConnection) -> str | None:
        if len(request.headers.getlist("authorization")) > 1:
            raise BadRequestError(
                "Send one Authorization header",
                headers={"WWW-Authenticate": 'Bearer error="invalid_request"'},
            )
        return await super().__call__(request)


# Swagger UI's Authorize button logs in through the OAuth2 password form at `tokenUrl`.
bearer = SingleBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def build_user_session_service(
    session: AsyncSession,
    settings: Settings,
    clock: Clock = utcnow,
    cache: AuthCache[UserSession] | None = None,
    *,
    idle_timeout: timedelta | None = None,
) -> UserSessionService:
    """`idle_timeout` shortens `SESSION_IDLE_TIMEOUT` (the admin console's sign-ins)."""
    policy = UserSessionPolicy(
        lifetime=settings.session_lifetime,
        idle_timeout=min(settings.session_idle_timeout, idle_timeout or timedelta.max),
        touch_interval=settings.session_touch_interval,
        reauth_window=settings.reauth_window,
    )
    repository = UserSessionRepository(session)
    audit = build_audit_log(session, clock=clock)
    return UserSessionService(repository, policy=policy, clock=clock, audit=audit, cache=cache)


async def get_user_session_service(request: Request, session: SessionDep) -> UserSessionService:
    state = app_state(request)
    return build_user_session_service(session, state.settings, state.clock)


UserSessionServiceDep = Annotated[UserSessionService, Depends(get_user_session_service)]


async def get_credential(
    request: Request, session: SessionDep, token: Annotated[str | None, Depends(bearer)]
) -> UserSession | ApiKey | OrgApiKey:
    """Who is calling: the session of a bearer token, or a credential of another kind (an API
    key, `app_live_…`; an organisation's, `app_org_…`). Every authenticated request resolves
    this: the app's clock and cache are read here rather than through further dependencies."""
    state = app_state(request)
    cache = state.revocations.cache if state.revocations else None
    if token:
        for kind in state.bearer_kinds:
            if token.startswith(kind.prefix):
                key = await kind.authenticate(session, state.settings, state.clock, cache, token)
                await _ensure_key_second_factor(state.settings, session, key)
                return key
    sessions = build_user_session_service(session, state.settings, state.clock, cache)
    return await sessions.authenticate(token)


async def _ensure_key_second_factor(
    settings: Settings, session: AsyncSession, key: UserSession | ApiKey | OrgApiKey
) -> None:
    """A personal key of a `REQUIRE_2FA_ROLES` holder works once its user has a factor: rare
    (keys of the roles named), so asked here rather than with the lookup."""
    if (
        isinstance(key, ApiKey)
        and needs_second_factor(settings, key.user)
        and not await has_second_factor(session, key.user_id)
    ):
        raise SecondFactorRequiredError()


def needs_second_factor(settings: Settings, user: User) -> bool:
    """Whether the user holds a role of `REQUIRE_2FA_ROLES`."""
    return bool(settings.require_2fa_roles) and not set(settings.require_2fa_roles).isdisjoint(
        (user.role_names or "").split()
    )


def ensure_second_factor(settings: Settings, credential: UserSession | ApiKey) -> None:
    """A session of a holder of a `REQUIRE_2FA_ROLES` role signed in with a second factor
    (or enrolled one in it); else 403 `SECOND_FACTOR_REQUIRED`."""
    if (
        isinstance(credential, UserSession)
        and credential.second_factor is None
        and needs_second_factor(settings, credential.user)
    ):
        raise SecondFactorRequiredError()


Credential = Annotated[UserSession | ApiKey | OrgApiKey, Depends(get_credential)]


async def get_current_user_session(credential: Credential) -> UserSession:
    _personal(credential)
    if not isinstance(credential, UserSession):
        raise ForbiddenError("An API key has no session: revoke the key instead")
    return credential


CurrentUserSession = Annotated[UserSession, Depends(get_current_user_session)]


async def get_permitted_user(
    scopes: SecurityScopes, request: Request, credential: Credential
) -> User:
    return _permitted(scopes, request, credential).user


async def get_permitted_session(
    scopes: SecurityScopes, request: Request, credential: Credential
) -> UserSession:
    """Only a session (a person signed in with a password) reaches these routes: their
    permissions are personal, which no API key ever has."""
    return _session(_permitted(scopes, request, credential))


async def get_permitted_unverified_session(
    scopes: SecurityScopes, credential: Credential
) -> UserSession:
    """As `get_permitted_session`, also for an unverified address under
    `REQUIRE_VERIFIED_EMAIL`: the routes that verify or replace it."""
    return _session(_allowed(scopes, _personal(credential)))


async def get_enrolling_session(
    scopes: SecurityScopes, request: Request, credential: Credential
) -> UserSession:
    """As `get_permitted_session`, also without the second factor `REQUIRE_2FA_ROLES` asks
    for: the routes that enrol one."""
    return _session(_permitted(scopes, request, credential, enrolling=True))


def _personal(credential: UserSession | ApiKey | OrgApiKey) -> UserSession | ApiKey:
    """A user's credential: an organisation's key acts inside its organisation only."""
    if isinstance(credential, OrgApiKey):
        raise ForbiddenError("An organisation's API key acts only inside its organisation")
    return credential


def _permitted(
    scopes: SecurityScopes,
    request: Request,
    credential: UserSession | ApiKey | OrgApiKey,
    *,
    enrolling: bool = False,
) -> UserSession | ApiKey:
    """The credential, when its user holds every scope and, under `REQUIRE_VERIFIED_EMAIL`,
    has verified their address (and, under `REQUIRE_2FA_ROLES`, unless `enrolling`, signed in
    with a second factor): a session (or key) from before a rule came in does no more than a
    login could."""
    credential = _personal(credential)
    user = credential.user
    settings = app_state(request).settings
    if user.email_verified_at is None and settings.require_verified_email:
        raise EmailNotVerifiedError()
    if not enrolling:
        ensure_second_factor(settings, credential)
    return _allowed(scopes, credential)


def _allowed(scopes: SecurityScopes, credential: UserSession | ApiKey) -> UserSession | ApiKey:
    for permission in scopes.scopes:
        if not allows(credential.user.permissions, permission):
            raise PermissionDeniedError(permission)
    return credential


def _session(credential: UserSession | ApiKey) -> UserSession:
    if not isinstance(credential, UserSession):
        raise ForbiddenError("An API key cannot do this")
    return credential


def require(permission: str) -> Any:
    """A route's caller, `Annotated[User, require("items:write")]`: the signed-in user when
    their roles grant `permission` (and, for an API key, its scopes), else 403
    `PERMISSION_DENIED`; 403 `EMAIL_NOT_VERIFIED` for an unverified address under
    `REQUIRE_VERIFIED_EMAIL`. OpenAPI shows the permission as the route's OAuth2 scope."""
    return Security(get_permitted_user, scopes=[permission])


def require_session(permission: str, *, unverified: bool = False, enrolling: bool = False) -> Any:
    """As `require`, for routes that act on the caller's session: `Annotated[UserSession, …]`;
    `unverified=True` for the routes that verify or replace an unverified address,
    `enrolling=True` for those that enrol a second factor."""
    dependency = (
        get_permitted_unverified_session
        if unverified
        else get_enrolling_session
        if enrolling
        else get_permitted_session
    )
    return Security(dependency, scopes=[permission])


async def get_recent_session(
    scopes: SecurityScopes,
    request: Request,
    credential: Credential,
    user_sessions: UserSessionServiceDep,
) -> UserSession:
    current = _session(_permitted(scopes, request, credential))
    user_sessions.ensure_recent(current)
    return current


async def get_recent_unverified_session(
    scopes: SecurityScopes, credential: Credential, user_sessions: UserSessionServiceDep
) -> UserSession:
    current = _session(_allowed(scopes, _personal(credential)))
    user_sessions.ensure_recent(current)
    return current


async def get_recent_enrolling_session(
    scopes: SecurityScopes,
    request: Request,
    credential: Credential,
    user_sessions: UserSessionServiceDep,
) -> UserSession:
    current = _session(_permitted(scopes, request, credential, enrolling=True))
    user_sessions.ensure_recent(current)
    return current


def require_recent_session(
    permission: str, *, unverified: bool = False, enrolling: bool = False
) -> Any:
    """As `require_session`, for sensitive acts: 403 `REAUTH_REQUIRED` unless the session
    signed in, or passed `POST /auth/reauth`, within `REAUTH_WINDOW`."""
    dependency = (
        get_recent_unverified_session
        if unverified
        else get_recent_enrolling_session
        if enrolling
        else get_recent_session
    )
    return Security(dependency, scopes=[permission])


async def get_recently_permitted_user(
    scopes: SecurityScopes,
    request: Request,
    credential: Credential,
    user_sessions: UserSessionServiceDep,
) -> User:
    permitted = _permitted(scopes, request, credential)
    if isinstance(permitted, UserSession):
        user_sessions.ensure_recent(permitted)
    return permitted.user


def require_recent(permission: str) -> Any:
    """As `require`, for sensitive acts: a session must have signed in, or passed
    `POST /auth/reauth`, within `REAUTH_WINDOW` (403 `REAUTH_REQUIRED`). An API key passes:
    it was made under that rule, with its scopes, and cannot prove anything more."""
    return Security(get_recently_permitted_user, scopes=[permission])
