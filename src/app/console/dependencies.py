"""The services a console page acts with, built on the request's unit of work: the console is
its own Starlette app, with no FastAPI dependencies to build them."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request

from app.accounts.dependencies import build_account_service
from app.accounts.service import AccountService
from app.api_keys.dependencies import build_api_key_service
from app.api_keys.service import ApiKeyService
from app.auth.dependencies import build_auth_service
from app.auth.service import AuthService
from app.identity.models import User, UserSession
from app.jobs.dependencies import build_job_service
from app.jobs.service import JobService
from app.roles.dependencies import build_role_service
from app.roles.service import RoleService
from app.sessions.dependencies import build_user_session_service
from app.sessions.service import UserSessionService
from app.state import AppState
from app.users.dependencies import build_user_service
from app.users.service import UserService

# Where the console's auth keeps the signed-in session on `request.state`.
SIGNED_IN = "console_session"


def unit_of_work(request: Request) -> AsyncSession:
    """The request's session (starlette-admin's middleware commits it when the page answers
    below 400, and rolls it back otherwise)."""
    session: AsyncSession = request.state.session
    return session


def signed_in(request: Request) -> UserSession | None:
    found: UserSession | None = getattr(request.state, SIGNED_IN, None)
    return found


def operator(request: Request) -> User:
    """Who is acting: only signed-in requests reach the views."""
    found = signed_in(request)
    if found is None:
        raise LookupError("No one is signed in to the console")
    return found.user


@dataclass(frozen=True)
class ConsoleServices:
    state: AppState
    session: AsyncSession

    @property
    def auth(self) -> AuthService:
        return build_auth_service(self.session, self.state)

    @property
    def users(self) -> UserService:
        return build_user_service(self.session, self.state.settings)

    @property
    def roles(self) -> RoleService:
        return build_role_service(self.session, clock=self.state.clock)

    @property
    def user_sessions(self) -> UserSessionService:
        return build_user_session_service(self.session, self.state.settings, self.state.clock)

    @property
    def api_keys(self) -> ApiKeyService:
        return build_api_key_service(self.session, self.state.settings, self.state.clock)

    @property
    def accounts(self) -> AccountService:
        state = self.state
        return build_account_service(
            self.session,
            state.settings,
            state.clock,
            registry=state.job_registry,
            hasher=state.password_hasher,
            limiter=state.rate_limiter,
            metrics=state.metrics,
        )

    @property
    def jobs(self) -> JobService:
        state = self.state
        return build_job_service(self.session, state.settings, state.job_registry, state.clock)
