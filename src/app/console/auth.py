"""Signing in to the console with the app's own accounts, into a cookie of its own.

A console sign-in is a user session like any other (listed, revocable, ended by deactivation
on every instance), whose token lives only in an HttpOnly, SameSite=Strict cookie and which
ends after `ADMIN_IDLE_TIMEOUT` unused. Only users holding one of the console's permissions
may sign in; each page then asks for its own.
"""

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.status import HTTP_303_SEE_OTHER
from starlette_admin.auth import AdminUser, AuthProvider
from starlette_admin.exceptions import LoginFailed
from starlette_admin.helpers import index_url, safe_redirect_url

from app.console.dependencies import SIGNED_IN, ConsoleServices, signed_in, unit_of_work
from app.core.errors import (
    EmailNotVerifiedError,
    InvalidCodeError,
    InvalidCredentialsError,
    RateLimitedError,
    UnauthorizedError,
)
from app.core.request import client_info
from app.identity.models import User
from app.sessions.dependencies import build_user_session_service, needs_second_factor
from app.state import AppState


class ConsoleAuth(AuthProvider):
    def __init__(self, state: AppState, may_enter: Callable[[User], bool]):
        super().__init__()
        self.state = state
        self.may_enter = may_enter

    async def login(
        self, username: str, password: str, remember_me: bool, request: Request
    ) -> Response | None:
        auth = ConsoleServices(self.state, unit_of_work(request)).auth
        client = client_info(request)
        code = str((await request.form()).get("code") or "").strip()
        try:
            user, factor = await auth.authenticate_with_factor(
                username, password, code, client=client
            )
        except RateLimitedError as error:
            raise LoginFailed(
                f"Too many sign-in attempts: try again in {error.headers['Retry-After']} seconds"
            ) from error
        except (InvalidCredentialsError, EmailNotVerifiedError) as error:
            raise LoginFailed("Wrong email or password") from error
        except InvalidCodeError as error:
            raise LoginFailed("Enter the current code from your authenticator app") from error
        if not self.may_enter(user):
            await auth.refuse(user.email, user, "not_console_user")
            raise LoginFailed("This account may not use the admin console")
        if factor is None and needs_second_factor(self.state.settings, user):
            await auth.refuse(user.email, user, "second_factor_required")
            raise LoginFailed("Your role needs a second factor: turn on an authenticator app first")
        _, token = await auth.start_session(user, client=client, factor=factor)
        fallback = index_url(request)
        next_url = safe_redirect_url(
            request.query_params.get("next") or fallback, request, fallback
        )
        response = RedirectResponse(next_url, status_code=HTTP_303_SEE_OTHER)
        response.set_cookie(
            _cookie_name(request, self.state),
            token,
            httponly=True,
            samesite="strict",
            secure=_secure(request, self.state),
            path=_console_path(request),
        )
        return response

    async def logout(self, request: Request) -> Response | None:
        current = signed_in(request)
        if current is not None:
            await ConsoleServices(self.state, unit_of_work(request)).user_sessions.log_out(current)
        response = RedirectResponse(index_url(request), status_code=HTTP_303_SEE_OTHER)
        response.delete_cookie(
            _cookie_name(request, self.state),
            path=_console_path(request),
            secure=_secure(request, self.state),
            httponly=True,
            samesite="strict",
        )
        return response

    async def authenticate(self, request: Request) -> AdminUser | None:
        token = request.cookies.get(_cookie_name(request, self.state))
        if not token:
            return None
        settings = self.state.settings
        sessions = build_user_session_service(
            unit_of_work(request),
            settings,
            self.state.clock,
            idle_timeout=settings.admin_idle_timeout,
        )
        try:
            current = await sessions.authenticate(token)
        except UnauthorizedError:
            return None
        if not self.may_enter(current.user):
            return None
        setattr(request.state, SIGNED_IN, current)
        return AdminUser(username=current.user.email)


def _console_path(request: Request) -> str:
    # Inside the mounted console, `root_path` is the console's own prefix.
    return str(request.scope.get("root_path") or "/")


def _secure(request: Request, state: AppState) -> bool:
    """Secure outside development and tests, and over HTTPS anywhere."""
    return request.url.scheme == "https" or state.settings.is_production


def _cookie_name(request: Request, state: AppState) -> str:
    # `__Host-` would demand `Path=/`; `__Secure-` still keeps it off plain HTTP.
    return "__Secure-admin" if _secure(request, state) else "admin"
