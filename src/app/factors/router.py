"""Second factors of the signed-in user: enrolling an authenticator app."""

from typing import Annotated

from fastapi import APIRouter, status

from app.core.errors import (
    ConflictError,
    InvalidCodeError,
    NotFoundError,
    PermissionDeniedError,
    ReauthRequiredError,
    UnauthorizedError,
    error_responses,
)
from app.factors.dependencies import FactorServiceDep
from app.factors.schemas import (
    FactorStatusRead,
    RecoveryCodesRead,
    TotpConfirm,
    TotpEnrolmentRead,
)
from app.factors.service import FactorStatus, TotpEnrolment
from app.identity.models import UserSession
from app.identity.permissions import ACCOUNT_MANAGE
from app.sessions.dependencies import (
    UserSessionServiceDep,
    require_recent_session,
    require_session,
)

router = APIRouter(prefix="/auth/2fa", tags=["auth"])
Enrolling = Annotated[UserSession, require_session(ACCOUNT_MANAGE, enrolling=True)]
RecentlySigned = Annotated[UserSession, require_recent_session(ACCOUNT_MANAGE)]


@router.get(
    "",
    response_model=FactorStatusRead,
    responses=error_responses(UnauthorizedError, PermissionDeniedError),
)
async def second_factor_status(current: Enrolling, factors: FactorServiceDep) -> FactorStatus:
    """The signed-in user's second factors (their passkeys: `GET /auth/passkeys`)."""
    return await factors.status(current.user)


@router.post(
    "/totp",
    status_code=status.HTTP_201_CREATED,
    response_model=TotpEnrolmentRead,
    responses=error_responses(UnauthorizedError, PermissionDeniedError, ConflictError),
)
async def start_totp(current: Enrolling, factors: FactorServiceDep) -> TotpEnrolment:
    """Start enrolling an authenticator app: scan the QR code (or type the secret), then
    confirm with a code. Starting again replaces an enrolment not yet confirmed."""
    return await factors.start_totp(current.user)


@router.post(
    "/totp/confirm",
    response_model=RecoveryCodesRead,
    responses=error_responses(
        UnauthorizedError, InvalidCodeError, PermissionDeniedError, ConflictError
    ),
)
async def confirm_totp(
    data: TotpConfirm,
    current: Enrolling,
    factors: FactorServiceDep,
    user_sessions: UserSessionServiceDep,
) -> RecoveryCodesRead:
    """Turn the authenticator app on with its first code: from now on, signing in needs a
    code after the password. The recovery codes are shown this once."""
    codes = await factors.confirm_totp(current.user, data.code)
    await user_sessions.enrolled(current, "totp")
    return RecoveryCodesRead(recovery_codes=codes)


@router.delete(
    "/totp",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=error_responses(
        UnauthorizedError, PermissionDeniedError, ReauthRequiredError, NotFoundError
    ),
)
async def turn_off_totp(current: RecentlySigned, factors: FactorServiceDep) -> None:
    """Turn the authenticator app off (its recovery codes go with it): signing in needs the
    password alone again. Needs a sign-in or `POST /auth/reauth` within `REAUTH_WINDOW`."""
    await factors.turn_off(current.user)
