"""Password reset, email verification and email change, each completed with a mailed token."""

from typing import Annotated

from fastapi import APIRouter, status

from app.accounts.dependencies import AccountServiceDep
from app.accounts.schemas import (
    Accepted,
    EmailChange,
    PasswordResetConfirm,
    PasswordResetRequest,
    TokenBody,
)
from app.core.errors import (
    AlreadyExistsError,
    ConflictError,
    InvalidTokenError,
    PermissionDeniedError,
    RateLimitedError,
    ReauthRequiredError,
    UnauthorizedError,
    error_responses,
)
from app.core.request import ClientInfoDep
from app.identity.models import UserSession
from app.identity.permissions import ACCOUNT_MANAGE
from app.sessions.dependencies import require_recent_session, require_session

router = APIRouter(tags=["accounts"])
# An unverified address may be verified or replaced also while `REQUIRE_VERIFIED_EMAIL` holds
# back everything else.
Owner = Annotated[UserSession, require_session(ACCOUNT_MANAGE, unverified=True)]
RecentOwner = Annotated[UserSession, require_recent_session(ACCOUNT_MANAGE, unverified=True)]
signed_in_errors = error_responses(UnauthorizedError, PermissionDeniedError, RateLimitedError)
token_errors = error_responses(InvalidTokenError)
MAILED = "If an account uses this address, a mail is on its way."


@router.post(
    "/auth/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=error_responses(RateLimitedError),
)
async def request_password_reset(
    data: PasswordResetRequest, accounts: AccountServiceDep, client: ClientInfoDep
) -> Accepted:
    """Mail a reset link (valid `PASSWORD_RESET_TTL`, once) to the account with this address.
    The answer is the same whether or not there is one."""
    await accounts.request_password_reset(data.email, client=client)
    return Accepted(detail=MAILED)


@router.post(
    "/auth/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=token_errors,
)
async def reset_password(data: PasswordResetConfirm, accounts: AccountServiceDep) -> None:
    """Set a new password with the mailed token; every session of the account ends."""
    await accounts.reset_password(data.token, data.new_password)


@router.post("/auth/verify-email", status_code=status.HTTP_204_NO_CONTENT, responses=token_errors)
async def verify_email(data: TokenBody, accounts: AccountServiceDep) -> None:
    """Confirm the address with the token mailed at registration."""
    await accounts.verify_email(data.token)


@router.post(
    "/auth/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses={**signed_in_errors, **error_responses(ConflictError)},
)
async def resend_verification(owner: Owner, accounts: AccountServiceDep) -> Accepted:
    """Mail a new verification link (the older ones stop working); 409 once verified."""
    await accounts.resend_verification(owner.user)
    return Accepted(detail="A verification mail is on its way.")


@router.post(
    "/users/me/email",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=error_responses(
        UnauthorizedError, PermissionDeniedError, ReauthRequiredError, RateLimitedError
    ),
)
async def request_email_change(
    data: EmailChange, owner: RecentOwner, accounts: AccountServiceDep
) -> Accepted:
    """Change the address: a confirmation goes to the new one (the change happens when it is
    confirmed) and a notice to the current one."""
    await accounts.request_email_change(owner.user, data.new_email, data.current_password)
    return Accepted(detail="Confirm the change from the mail sent to the new address.")


@router.post(
    "/auth/email-change/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**token_errors, **error_responses(AlreadyExistsError)},
)
async def change_email(data: TokenBody, accounts: AccountServiceDep) -> None:
    """Make the confirmed address the account's (verified); 409 if it was taken meanwhile."""
    await accounts.change_email(data.token)


@router.post(
    "/auth/email-change/cancel", status_code=status.HTTP_204_NO_CONTENT, responses=token_errors
)
async def cancel_email_change(data: TokenBody, accounts: AccountServiceDep) -> None:
    """Call off a pending change of address with the token of the notice mailed to the current
    address; the confirmation sent to the new one stops working."""
    await accounts.cancel_email_change(data.token)
