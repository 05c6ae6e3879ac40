from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import HTTPConnection

from app.core.auth_cache import AuthCache
from app.core.config import Settings
from app.core.db import SessionDep
from app.core.errors import BadRequestError, ForbiddenError
from app.core.models import utcnow
from app.core.request import Clock
from app.sessions.models import UserSession
from app.sessions.repository import UserSessionRepository
from app.sessions.service import UserSessionPolicy, UserSessionService
from app.users.models import User


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
) -> UserSessionService:
    policy = UserSessionPolicy(
        lifetime=settings.session_lifetime,
        idle_timeout=settings.session_idle_timeout,
        touch_interval=settings.session_touch_interval,
    )
    repository = UserSessionRepository(session)
    return UserSessionService(repository, policy=policy, clock=clock, cache=cache)


async def get_user_session_service(request: Request, session: SessionDep) -> UserSessionService:
    # Every authenticated request resolves this: the app's clock and cache are read here
    # rather than through further dependencies.
    state = request.app.state
    cache = state.revocations.cache if state.revocations else None
    return build_user_session_service(session, state.settings, state.clock, cache)


UserSessionServiceDep = Annotated[UserSessionService, Depends(get_user_session_service)]


async def get_current_user_session(
    sessions: UserSessionServiceDep, token: Annotated[str | None, Depends(bearer)]
) -> UserSession:
    return await sessions.authenticate(token)


CurrentUserSession = Annotated[UserSession, Depends(get_current_user_session)]


async def get_current_user(current: CurrentUserSession) -> User:
    return current.user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_superuser(user: CurrentUser) -> User:
    if not user.is_superuser:
        raise ForbiddenError("Superuser privileges required")
    return user


Superuser = Annotated[User, Depends(get_superuser)]
