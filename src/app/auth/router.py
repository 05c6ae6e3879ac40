"""Registration, login (JSON and the OAuth2 password form) and password change."""

from typing import Annotated

from fastapi import APIRouter, Form, status

from app.auth.dependencies import AuthServiceDep
from app.auth.schemas import (
    LoginRequest,
    PasswordChange,
    Reauth,
    ReauthWithCode,
    ReauthWithPasskey,
    ReauthWithPassword,
    TokenForm,
    TokenResponse,
)
from app.core.errors import (
    AlreadyExistsError,
    EmailNotVerifiedError,
    InvalidCodeError,
    InvalidCredentialsError,
    InvalidTokenError,
    MfaRequiredError,
    PermissionDeniedError,
    RateLimitedError,
    ReauthRequiredError,
    UnauthorizedError,
    error_responses,
)
from app.core.request import ClientInfoDep
from app.factors.schemas import MfaLogin, MfaWithCode, MfaWithRecoveryCode
from app.identity.models import User, UserSession
from app.identity.permissions import ACCOUNT_MANAGE
from app.sessions.dependencies import require_recent_session, require_session
from app.users.schemas import UserCreate, UserRead

router = APIRouter(prefix="/auth", tags=["auth"])
login_errors = error_responses(
    InvalidCredentialsError, MfaRequiredError, EmailNotVerifiedError, RateLimitedError
)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserRead,
    responses=error_responses(AlreadyExistsError, RateLimitedError),
)
async def register(data: UserCreate, auth: AuthServiceDep, client: ClientInfoDep) -> User:
    """Create an account. The email is trimmed and lower-cased."""
    return await auth.register(data, client=client)


@router.post("/login", response_model=TokenResponse, responses=login_errors)
async def login(data: LoginRequest, auth: AuthServiceDep, client: ClientInfoDep) -> TokenResponse:
    """Exchange email and password for a bearer token. An account with a second factor
    answers 401 `MFA_REQUIRED` with an `mfa_token` for `POST /auth/login/mfa` instead."""
    user_session, token = await auth.login(data.email, data.password, client=client)
    return TokenResponse(access_token=token, expires_at=user_session.expires_at)


@router.post(
    "/login/mfa",
    response_model=TokenResponse,
    responses=error_responses(InvalidTokenError, InvalidCodeError, RateLimitedError),
)
async def login_with_factor(
    data: MfaLogin, auth: AuthServiceDep, client: ClientInfoDep
) -> TokenResponse:
    """The second step of a sign-in that answered `MFA_REQUIRED`: its `mfa_token` and a code
    from the authenticator app (or one recovery code). The token works once, expires after
    `MFA_TOKEN_TTL`, and dies after `MFA_MAX_FAILURES` wrong codes; wrong codes also count
    against the login limits."""
    code = data.code if isinstance(data, MfaWithCode) else None
    recovery_code = data.recovery_code if isinstance(data, MfaWithRecoveryCode) else None
    user_session, token = await auth.login_with_factor(
        data.mfa_token, code=code, recovery_code=recovery_code, client=client
    )
    return TokenResponse(access_token=token, expires_at=user_session.expires_at)


@router.post("/token", response_model=TokenResponse, responses=login_errors)
async def login_form(
    form: Annotated[TokenForm, Form()],
    auth: AuthServiceDep,
    client: ClientInfoDep,
) -> TokenResponse:
    """The OAuth2 password flow (form-encoded `username` = email), for Swagger UI's Authorize."""
    user_session, token = await auth.login(form.username, form.password, client=client)
    return TokenResponse(access_token=token, expires_at=user_session.expires_at)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(
        UnauthorizedError, PermissionDeniedError, ReauthRequiredError, RateLimitedError
    ),
)
async def change_password(
    data: PasswordChange,
    current: Annotated[UserSession, require_recent_session(ACCOUNT_MANAGE)],
    auth: AuthServiceDep,
) -> None:
    """Change the password; every other session of the user is revoked."""
    await auth.change_password(current, data)


@router.post(
    "/reauth",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(
        UnauthorizedError,
        InvalidCredentialsError,
        InvalidCodeError,
        PermissionDeniedError,
        RateLimitedError,
    ),
)
async def reauthenticate(
    data: Reauth,
    current: Annotated[UserSession, require_session(ACCOUNT_MANAGE, enrolling=True)],
    auth: AuthServiceDep,
    client: ClientInfoDep,
) -> None:
    """Prove it is you again (the password, a code of your authenticator app, or a passkey's
    answer to `POST /auth/passkeys/reauth/options`): this session may do sensitive acts for
    `REAUTH_WINDOW`. Wrong tries count against the login limits."""
    password = data.password if isinstance(data, ReauthWithPassword) else None
    code = data.code if isinstance(data, ReauthWithCode) else None
    passkey = data.passkey if isinstance(data, ReauthWithPasskey) else None
    await auth.reauthenticate(current, password=password, code=code, passkey=passkey, client=client)
